#include "store/peers_file.h"

#include <algorithm>
#include <set>

#include <boost/json.hpp>

namespace rq::store {
namespace {

Status Invalid(const std::string& what) { return Status::InvalidArgument("peers.json: " + what); }

// A string field, or empty when absent; false when present but not a string.
bool StringField(const boost::json::object& object, const char* name, std::string* out) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr) return true;
  if (!value->is_string()) return false;
  *out = std::string(value->as_string());
  return true;
}

}  // namespace

Result<std::vector<PeerEntry>> ParsePeersFile(std::string_view text) {
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(text, error);
  if (error) return Invalid("not valid JSON: " + error.message());
  if (!parsed.is_array()) return Invalid("expected an array of {\"id\", \"address\", \"non_voter\"}");
  std::vector<PeerEntry> peers;
  std::set<std::string> seen;
  bool any_voter = false;
  for (const boost::json::value& item : parsed.as_array()) {
    std::string position = "entry " + std::to_string(peers.size() + 1);
    if (!item.is_object()) return Invalid(position + " is not an object");
    const boost::json::object& object = item.as_object();
    std::string id, address;
    if (!StringField(object, "id", &id) || id.empty()) return Invalid(position + " has no string \"id\"");
    if (!StringField(object, "address", &address) || address.empty()) {
      return Invalid(position + " (id " + id + ") has no string \"address\"");
    }
    bool non_voter = false;
    if (const boost::json::value* flag = object.if_contains("non_voter")) {
      if (!flag->is_bool()) return Invalid(position + " (id " + id + "): \"non_voter\" must be true or false");
      non_voter = flag->as_bool();
    }
    if (!seen.insert(id).second) return Invalid("id " + id + " is listed twice");
    any_voter = any_voter || !non_voter;
    peers.push_back(PeerEntry{NodeId(id), address, !non_voter});
  }
  if (!any_voter) return Invalid("lists no voter");
  return peers;
}

raft::Membership MembershipOf(const std::vector<PeerEntry>& peers) {
  raft::Membership membership;
  for (const PeerEntry& peer : peers) {
    (peer.voter ? membership.voters : membership.learners).push_back(peer.id);
  }
  std::sort(membership.voters.begin(), membership.voters.end());
  std::sort(membership.learners.begin(), membership.learners.end());
  return membership;
}

}  // namespace rq::store
