#include "cmd/join.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <thread>

#include "base/logging.h"

namespace rq::cmd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// Tries one Raft address, following "not leader" answers a few times.
Status JoinVia(cluster::Client* client, std::string address, const cluster::JoinRequest& request,
               const std::function<void(const std::string&)>& on_target) {
  constexpr int kRedirectsMax = 5;
  Status last = Status::Unavailable("no attempt made");
  for (int redirect = 0; redirect <= kRedirectsMax; ++redirect) {
    on_target(address);
    auto response = client->Join(address, request, std::chrono::seconds(15));
    if (!response.ok()) return response.status();
    if (response->status.ok()) return Status::OK();
    last = response->status;
    if (!last.IsNotLeader() || response->leader_raft_addr.empty() || response->leader_raft_addr == address) {
      return last;
    }
    RQ_LOG_INFO("join: {} is not the leader; trying {}", address, response->leader_raft_addr);
    address = response->leader_raft_addr;
  }
  return last;
}

}  // namespace

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
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("cannot reach ") + url + ": " + e.what());
  }
}

Status JoinCluster(cluster::Client* client, const JoinPlan& plan,
                   const std::function<void(const std::string&)>& on_target) {
  Status last = Status::InvalidArgument("no join targets");
  for (int64_t attempt = 1; attempt <= plan.attempts; ++attempt) {
    for (const JoinTarget& target : plan.targets) {
      std::string address = target.raft_addr;
      if (!target.http_url.empty()) {
        Result<std::string> resolved = RaftAddressFromApi(target.http_url, std::chrono::seconds(5));
        if (!resolved.ok()) {
          last = resolved.status();
          RQ_LOG_WARN("join: {}", last.message());
          continue;
        }
        address = *resolved;
      }
      last = JoinVia(client, address, plan.request, on_target);
      if (last.ok()) {
        RQ_LOG_INFO("join: joined the cluster through {}", address);
        return Status::OK();
      }
      RQ_LOG_WARN("join: attempt {} via {} failed: {}", attempt, address, last.ToString());
    }
    if (attempt < plan.attempts) std::this_thread::sleep_for(plan.interval);
  }
  return last;
}

}  // namespace rq::cmd
