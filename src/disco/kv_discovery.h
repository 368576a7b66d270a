// KvDiscovery: cluster formation and leader reporting through a key in
// Consul or etcd (-disco-mode consul-kv|etcd-kv, API.md 4.11).
//
// Formation (a node with no Raft state): read the leader key. If it names a
// node, join that node's Raft address. If it is absent, try to create it
// with this node's record (check-and-set): the one node that wins
// bootstraps itself as a one-voter cluster; the others read the key again
// and join it. A failed join reads the key again (the leader it named may
// have gone), so the loop ends only when this node is in a cluster.
//
// Reporting (every node, with or without earlier state): a thread watches
// the store; whenever this node is the leader it writes its record to the
// key, at once on gaining leadership and again every report interval, so a
// failover moves the key to the new leader.
//
// node/kv_formation.h runs the formation loop against the store.
//
// Ownership: KvDiscovery owns its KvClient and its reporting thread; it
// borrows the callbacks' targets, which must outlive it.
// Thread-safety: Register/Form run on one thread (main's); the reporter is
// internal. StopReporting may be called from any one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/json/value.hpp>

#include "base/random.h"
#include "disco/kv_client.h"

namespace rq::disco {

struct KvDiscoveryOptions {
  std::string key;    // LeaderKey(mode, -disco-key)
  LeaderRecord self;  // this node's id, HTTP API URL and Raft address
  // A non-voter never claims the key: it only reads it and joins.
  bool may_claim = true;
  // Between rounds when nobody holds the key (rqlite: 3 s, with jitter).
  std::chrono::milliseconds register_interval{3000};
  // How often a leader rewrites the key although nothing changed.
  std::chrono::milliseconds report_interval{10000};
  // How often the reporter looks at the store's role.
  std::chrono::milliseconds poll_interval{250};
};

class KvDiscovery {
 public:
  KvDiscovery(std::unique_ptr<KvClient> client, KvDiscoveryOptions options);
  ~KvDiscovery();
  KvDiscovery(const KvDiscovery&) = delete;
  KvDiscovery& operator=(const KvDiscovery&) = delete;

  struct Registration {
    bool claimed = false;  // this node created the key: it is the seed
    LeaderRecord leader;   // the record now in the key
  };
  // Blocks until the key names a node or this node created it.
  Registration Register();

  // One look at the role: writes the record when `is_leader` and either it
  // just became leader or the report interval has passed. True if written.
  bool ReportOnce(bool is_leader, std::chrono::steady_clock::time_point now);
  // REQUIRES: `is_leader` stays callable until StopReporting returns.
  void StartReporting(std::function<bool()> is_leader);
  void StopReporting();  // idempotent

  // The /status "disco" section, as rqlite shows it: mode, intervals (in
  // nanoseconds) and the time of the last successful call to the service.
  boost::json::value Stats() const;

  const KvDiscoveryOptions& options() const { return options_; }
  KvClient* client() { return client_.get(); }

 private:
  std::unique_ptr<KvClient> client_;
  KvDiscoveryOptions options_;
  Random jitter_;
  // Milliseconds since the epoch of the last call the service answered.
  std::atomic<int64_t> last_contact_ms_{0};
  void Touch();

  // Reporter state: touched only by the reporter thread (or by ReportOnce's
  // caller in tests, which runs no reporter).
  bool was_leader_ = false;
  bool write_pending_ = false;
  std::chrono::steady_clock::time_point last_write_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread reporter_;
};

}  // namespace rq::disco
