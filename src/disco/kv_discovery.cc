#include "cmd/disco_service.h"

#include <ctime>
#include <future>

#include <boost/json.hpp>

#include "base/assert.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "cmd/disco.h"

namespace rq::cmd {
namespace {

using Clock = std::chrono::steady_clock;

// After a failed join, before reading the key again (as rqlite does).
constexpr auto kRejoinPause = std::chrono::seconds(1);
// How long a freshly bootstrapped seed may take to elect itself.
constexpr auto kSeedElectionWait = std::chrono::seconds(30);

bool InCluster(store::Store* store, const NodeId& self) {
  store::NodeState state = store->status().raft;
  return !state.leader.empty() && state.membership.Contains(self);
}

Status BootstrapSeed(store::Store* store, const JoinPlan& join) {
  std::promise<Status> result;
  std::vector<std::pair<NodeId, store::NodeAddress>> voters{
      {NodeId(join.request.id), store::NodeAddress{join.request.raft_addr, join.request.api_addr}}};
  store->BootstrapCluster(std::move(voters), [&result](Status status) { result.set_value(std::move(status)); });
  Status bootstrapped = result.get_future().get();
  if (!bootstrapped.ok()) return bootstrapped;
  const NodeId self(join.request.id);
  for (auto until = Clock::now() + kSeedElectionWait; Clock::now() < until;) {
    if (InCluster(store, self)) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("bootstrapped as the seed but no leader was elected");
}

}  // namespace

KvDiscovery::KvDiscovery(std::unique_ptr<KvClient> client, KvDiscoveryOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      jitter_(static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
              std::hash<std::string>{}(options_.self.id)) {}

KvDiscovery::~KvDiscovery() { StopReporting(); }

void KvDiscovery::Touch() {
  last_contact_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
}

boost::json::value KvDiscovery::Stats() const {
  std::string last_contact;
  if (int64_t ms = last_contact_ms_.load(); ms > 0) {
    std::time_t seconds = ms / 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms % 1000));
    last_contact = text;
  }
  auto nanos = [](std::chrono::milliseconds d) { return std::chrono::nanoseconds(d).count(); };
  return boost::json::object{{"mode", client_->name()},
                             {"key", options_.key},
                             {"register_interval", nanos(options_.register_interval)},
                             {"report_interval", nanos(options_.report_interval)},
                             {"last_contact", last_contact}};
}

KvDiscovery::Registration KvDiscovery::Register() {
  const std::string record = EncodeLeaderRecord(options_.self);
  for (;;) {
    Result<std::optional<std::string>> current = client_->Get(options_.key);
    if (current.ok()) Touch();
    if (!current.ok()) {
      RQ_LOG_WARN("disco: reading {} from {}: {}", options_.key, client_->name(), current.status().ToString());
    } else if (current->has_value()) {
      Result<LeaderRecord> leader = DecodeLeaderRecord(**current);
      if (leader.ok()) return Registration{false, *leader};
      // Nobody can join a record nobody can read; a leader will overwrite it.
      RQ_LOG_WARN("disco: {} holds an unusable record: {}", options_.key, leader.status().ToString());
    } else if (options_.may_claim) {
      Result<bool> created = client_->CreateIfAbsent(options_.key, record);
      if (created.ok()) Touch();
      if (!created.ok()) {
        RQ_LOG_WARN("disco: claiming {} in {}: {}", options_.key, client_->name(), created.status().ToString());
      } else if (*created) {
        RQ_LOG_INFO("disco: this node claimed {} in {}: it bootstraps the cluster", options_.key, client_->name());
        return Registration{true, options_.self};
      } else {
        continue;  // another node won the race: read what it wrote
      }
    }
    // Jitter, so nodes started together do not keep colliding.
    const int64_t base = options_.register_interval.count();
    const auto pause = std::chrono::milliseconds(base / 2 + static_cast<int64_t>(jitter_.Uniform(base + 1)));
    std::this_thread::sleep_for(pause);
  }
}

bool KvDiscovery::ReportOnce(bool is_leader, Clock::time_point now) {
  const bool gained = is_leader && !was_leader_;
  was_leader_ = is_leader;
  if (!is_leader) {
    write_pending_ = false;
    return false;
  }
  if (gained) write_pending_ = true;
  if (!write_pending_ && now - last_write_ < options_.report_interval) return false;
  Status written = client_->Put(options_.key, EncodeLeaderRecord(options_.self));
  if (!written.ok()) {
    // Tried again on the next look; logged once per failure streak.
    if (!write_pending_ || gained) RQ_LOG_WARN("disco: updating {}: {}", options_.key, written.ToString());
    write_pending_ = true;
    return false;
  }
  Touch();
  if (write_pending_) RQ_LOG_INFO("disco: {} now names this node, the leader", options_.key);
  write_pending_ = false;
  last_write_ = now;
  return true;
}

void KvDiscovery::StartReporting(std::function<bool()> is_leader) {
  RQ_ASSERT(!reporter_.joinable());
  reporter_ = std::thread([this, is_leader = std::move(is_leader)] {
    NameThisThread("disco-report");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      ReportOnce(is_leader(), Clock::now());
      lock.lock();
      wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_; });
    }
  });
}

void KvDiscovery::StopReporting() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (reporter_.joinable()) reporter_.join();
}

Result<std::unique_ptr<KvDiscovery>> MakeKvDiscovery(const Config& config, std::chrono::milliseconds timeout) {
  Result<std::string> text = ReadDiscoConfig(config.disco_config);
  if (!text.ok()) return text.status();
  Result<std::unique_ptr<KvClient>> client = MakeKvClient(config.disco_mode, *text, timeout);
  if (!client.ok()) return client.status();
  KvDiscoveryOptions options;
  options.key = LeaderKey(config.disco_mode, config.disco_key);
  options.self = LeaderRecord{config.node_id, config.HttpUrl(), config.raft_adv_addr};
  options.may_claim = !config.raft_non_voter;
  return std::make_unique<KvDiscovery>(std::move(client).value(), std::move(options));
}

Status FormClusterWithKv(KvDiscovery* discovery, store::Store* store, cluster::Client* client, JoinPlan join,
                         const std::function<void(const std::string&)>& on_join_target) {
  const NodeId self(join.request.id);
  join.attempts = 1;
  for (;;) {
    if (InCluster(store, self)) return Status::OK();
    KvDiscovery::Registration registration = discovery->Register();
    // A key that names this node but no state here: this node claimed it
    // and stopped before forming the cluster. It is still the seed.
    const bool seed = registration.claimed || (registration.leader.id == join.request.id &&
                                               registration.leader.addr == join.request.raft_addr);
    if (seed && discovery->options().may_claim) {
      Status bootstrapped = BootstrapSeed(store, join);
      if (bootstrapped.ok()) return bootstrapped;
      RQ_LOG_WARN("disco: bootstrapping as the seed: {}", bootstrapped.ToString());
    } else if (!seed) {
      RQ_LOG_INFO("disco: joining the cluster through {} (node {})", registration.leader.addr,
                  registration.leader.id);
      join.targets = {JoinTarget{registration.leader.addr, ""}};
      Status joined = JoinCluster(client, join, on_join_target);
      if (joined.ok()) return joined;
      RQ_LOG_WARN("disco: joining through {}: {}", registration.leader.addr, joined.ToString());
    }
    std::this_thread::sleep_for(kRejoinPause);
  }
}

}  // namespace rq::cmd
