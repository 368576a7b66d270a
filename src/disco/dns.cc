#include "disco/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>

namespace rq::disco {
namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string ExpandEnv(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    size_t start = i + 1, end;
    std::string name;
    if (text[start] == '{') {
      end = text.find('}', start);
      if (end == std::string::npos) {
        out += text[i++];
        continue;
      }
      name = text.substr(start + 1, end - start - 1);
      ++end;
    } else {
      end = start;
      while (end < text.size() && IsNameChar(text[end])) ++end;
      name = text.substr(start, end - start);
    }
    if (name.empty()) {
      out += text[i++];
      continue;
    }
    const char* value = std::getenv(name.c_str());
    out += value ? value : "";
    i = end;
  }
  return out;
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
}

}  // namespace

Result<std::string> ReadDiscoConfig(const std::string& value) {
  std::string text = value;
  std::ifstream file(value);
  if (!value.empty() && value.front() != '{' && file) {
    std::stringstream contents;
    contents << file.rdbuf();
    text = contents.str();
  }
  return ExpandEnv(text);
}

Result<std::vector<std::string>> HostsFromOverride(std::string_view list) {
  std::vector<std::string> targets;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string address(list.substr(start, comma - start));
    const size_t colon = address.rfind(':');
    const bool has_port = colon != std::string::npos && colon + 1 < address.size() &&
                          address.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (!has_port || colon == 0) {
      return Status::InvalidArgument(std::string(kDnsHostsOverrideEnv) + ": invalid address " + address);
    }
    targets.push_back(address);
    start = comma + 1;
  }
  return targets;
}

Result<std::vector<std::string>> ResolveHosts(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found); rc != 0) {
    return Status::Unavailable("dns: resolving " + name + ": " + gai_strerror(rc));
  }
  std::set<std::string> hosts;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* address = a->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, address, text, sizeof text) != nullptr) hosts.insert(text);
  }
  freeaddrinfo(found);
  return std::vector<std::string>(hosts.begin(), hosts.end());
}

Result<std::vector<std::string>> ResolveSrv(const std::string& service, const std::string& name) {
  const std::string query = "_" + service + "._tcp." + name;
  unsigned char answer[8192];
  struct __res_state state{};
  if (res_ninit(&state) != 0) return Status::Unavailable("dns-srv: resolver initialisation failed");
  int length = res_nquery(&state, query.c_str(), ns_c_in, ns_t_srv, answer, sizeof answer);
  res_nclose(&state);
  if (length < 0) return Status::Unavailable("dns-srv: no SRV records for " + query);
  ns_msg message;
  if (ns_initparse(answer, length, &message) != 0) return Status::Unavailable("dns-srv: bad answer for " + query);
  std::set<std::string> targets;
  for (int i = 0; i < ns_msg_count(message, ns_s_an); ++i) {
    ns_rr record;
    if (ns_parserr(&message, ns_s_an, i, &record) != 0 || ns_rr_type(record) != ns_t_srv) continue;
    if (ns_rr_rdlen(record) < 7) continue;
    const unsigned char* data = ns_rr_rdata(record);
    unsigned port = (static_cast<unsigned>(data[4]) << 8) | data[5];
    char host[NS_MAXDNAME];
    if (dn_expand(ns_msg_base(message), ns_msg_end(message), data + 6, host, sizeof host) < 0) continue;
    targets.insert(JoinHostPort(host, std::to_string(port)));
  }
  if (targets.empty()) return Status::Unavailable("dns-srv: no SRV records for " + query);
  return std::vector<std::string>(targets.begin(), targets.end());
}

Result<Discovery> MakeDnsDiscovery(const std::string& mode, const std::string& config_text,
                                   const std::string& raft_port) {
  if (mode != "dns" && mode != "dns-srv") {
    return Status::InvalidArgument("-disco-mode " + mode + " is not a DNS mode (dns or dns-srv)");
  }
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(config_text, error);
  if (error || !parsed.is_object()) {
    return Status::InvalidArgument("-disco-config for " + mode + " must be a JSON object such as {\"name\": \"rqlite.local\"}");
  }
  const boost::json::object& object = parsed.as_object();
  auto text = [&object](const char* key) -> std::string {
    const boost::json::value* v = object.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::string name = text("name");
  if (name.empty()) return Status::InvalidArgument("-disco-config for " + mode + " needs a \"name\"");
  if (mode == "dns") {
    return Discovery([name, raft_port]() -> Result<std::vector<std::string>> {
      // rqlite's DNS client answers with this list instead of a lookup
      // when it is set (meant for tests, and how rqlite's own tests cluster).
      if (const char* hosts = std::getenv(kDnsHostsOverrideEnv)) return HostsFromOverride(hosts);
      auto hosts = ResolveHosts(name);
      if (!hosts.ok()) return hosts.status();
      std::vector<std::string> targets;
      for (const std::string& host : *hosts) targets.push_back(JoinHostPort(host, raft_port));
      return targets;
    });
  }
  std::string service = text("service");
  if (service.empty()) return Status::InvalidArgument("-disco-config for dns-srv needs a \"service\"");
  return Discovery([service, name]() { return ResolveSrv(service, name); });
}

}  // namespace rq::disco
