#include "node/join.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/logging.h"
#include "cluster/join.h"

namespace rq::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

}  // namespace

bool LeadsItsOwnClusterButJoinsAnother(const config::Config& config, const raft::Membership& membership) {
  const NodeId self(config.node_id);
  const bool alone = membership.learners.empty() && membership.voters.size() == 1 && membership.voters[0] == self;
  if (!alone) return false;
  auto is_self = [&config](const config::JoinTarget& target) {
    if (!target.raft_addr.empty()) return target.raft_addr == config.raft_adv_addr || target.raft_addr == config.raft_addr;
    const std::string host = target.http_url.substr(target.http_url.find("://") == std::string::npos
                                                        ? 0
                                                        : target.http_url.find("://") + 3);
    return host == config.http_adv_addr || host == config.http_addr || host == config.http_adv_addr + "/" ||
           host == config.http_addr + "/";
  };
  return std::any_of(config.join_targets.begin(), config.join_targets.end(),
                     [&](const config::JoinTarget& target) { return !is_self(target); });
}

Result<cluster::Credentials> JoinAsCredentials(const std::string& auth_file, const std::string& username) {
  std::ifstream in(auth_file);
  if (!in) return Status::IOError("cannot read -auth file " + auth_file);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text.str(), ec);
  if (ec || !root.is_array()) return Status::InvalidArgument("-auth file " + auth_file + " is not a JSON array");
  for (const boost::json::value& entry : root.get_array()) {
    const auto* user = entry.if_object();
    if (user == nullptr) continue;
    const auto* name = user->if_contains("username");
    const auto* password = user->if_contains("password");
    if (name == nullptr || !name->is_string() || name->get_string() != username) continue;
    if (password == nullptr || !password->is_string()) break;
    return cluster::Credentials{username, std::string(password->get_string()), true};
  }
  return Status::NotFound("-join-as user " + username + " has no password in the -auth file " + auth_file);
}

Result<std::string> RaftAddressFromApi(const std::string& url, std::chrono::nanoseconds timeout) {
  try {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return Status::InvalidArgument("bad join URL " + url);
    if (parsed->scheme() != "http") {
      return Status::NotSupported("join URL " + url + ": only http:// API URLs can be resolved (use the Raft address)");
    }
    std::string host = parsed->host();
    std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
    asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, port));
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, "/status?key=store.addr", 11};
    request.set(bhttp::field::host, host);
    bhttp::write(stream, request);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream, buffer, response);
    if (response.result_int() != 200) {
      return Status::Unavailable(url + "/status answered HTTP " + std::to_string(response.result_int()));
    }
    boost::json::value value = boost::json::parse(response.body());
    if (!value.is_string() || value.get_string().empty()) {
      return Status::Unavailable(url + "/status did not report store.addr");
    }
    return std::string(value.get_string());
  } catch (const boost::system::system_error& e) {
    return Status::Unavailable(std::string("cannot reach ") + url + ": " + e.code().message());
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("cannot reach ") + url + ": " + e.what());
  }
}

Status JoinCluster(cluster::Client* client, const JoinPlan& plan,
                   const std::function<void(const std::string&)>& on_target) {
  // v5 scripts name HTTP API URLs; resolve them once, before the attempts.
  cluster::JoinOptions options;
  Status last = Status::InvalidArgument("no join targets");
  for (const config::JoinTarget& target : plan.targets) {
    if (target.http_url.empty()) {
      options.targets.push_back(target.raft_addr);
      continue;
    }
    Result<std::string> resolved = Status::Unavailable("not tried");
    for (int64_t attempt = 1; attempt <= plan.attempts && !resolved.ok(); ++attempt) {
      resolved = RaftAddressFromApi(target.http_url, std::chrono::seconds(5));
      if (!resolved.ok() && attempt < plan.attempts) std::this_thread::sleep_for(plan.interval);
    }
    if (!resolved.ok()) {
      last = resolved.status();
      RQ_LOG_WARN("join: {}", last.message());
      continue;
    }
    options.targets.push_back(*resolved);
  }
  if (options.targets.empty()) return last;
  options.self_raft_addr = plan.request.raft_addr;
  options.attempts = static_cast<int>(plan.attempts);
  options.interval = plan.interval;
  options.rpc_timeout = std::chrono::seconds(15);
  options.on_attempt = on_target;
  Result<std::string> joined = cluster::JoinCluster(*client, plan.request, options);
  if (!joined.ok()) return joined.status();
  RQ_LOG_INFO("join: joined the cluster through {}", *joined);
  return Status::OK();
}

}  // namespace rq::node
