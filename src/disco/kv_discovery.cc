#include "disco/kv_discovery.h"

#include <ctime>

#include <boost/json.hpp>

#include "base/assert.h"
#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"

namespace rq::disco {
namespace {

using Clock = std::chrono::steady_clock;

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
      CallContained("disco: reporting the leader", [&] { ReportOnce(is_leader(), Clock::now()); });
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

}  // namespace rq::disco
