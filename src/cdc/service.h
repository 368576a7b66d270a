// Service: change data capture on one node (-cdc-config). Every voter
// encodes the rows each applied entry changed and keeps them in its durable
// queue (cdc/queue.h); only the leader sends them, in index order, batched,
// retried; it replicates how far the sink has acknowledged (the high-water
// mark, a Raft entry every high_watermark_interval), and every node prunes
// its queue to the mark when that entry applies. A new leader sends what its
// queue holds above the mark: at-least-once delivery, the duplicates at
// most what was acknowledged after the last mark; receivers drop an index
// at or below the last one they processed, as with rqlite.
//
// Events come from committed entries only (the store calls OnChanges as it
// applies), so nothing is sent that the cluster did not commit.
//
// Thread-safety: OnChanges, OnHighWaterMark and BeforeSnapshot come from the
// store's apply thread; the sender is a thread of its own; everything else
// may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "cdc/config.h"
#include "cdc/queue.h"
#include "command/row_change.h"
#include "metrics/metrics.h"

namespace rq::cdc {

// Where events go. Send is called from the sender thread only.
class Sink {
 public:
  virtual ~Sink() = default;
  // OK only when the receiver took the whole envelope (HTTP 200 or 202).
  virtual Status Send(const std::string& body) = 0;
  // Ends a Send in flight soon (shutdown); later sends fail. Any thread.
  virtual void Cancel() {}
};

// A sink printing each envelope on its own line of stdout.
std::unique_ptr<Sink> MakeStdoutSink();

// rqlite's "cdc.service" map of /debug/vars.
struct ServiceMetrics {
  metrics::Group group{"cdc.service"};
  metrics::Counter& dropped_failed_to_send = group.Key("dropped_failed_to_send");
  metrics::Counter& retries = group.Key("retries");
  metrics::Counter& num_events_tx_ok = group.Key("num_events_tx_ok");  // envelopes, as rqlite counts
  metrics::Counter& num_events_tx_failed = group.Key("num_events_tx_failed");
  metrics::Counter& num_bytes_tx = group.Key("num_bytes_tx");
  metrics::Counter& snapshot_sync = group.Key("snapshot_sync");
  metrics::Counter& batcher_writes = group.Key("batcher_writes");
  metrics::Counter& batcher_events_write = group.Key("batcher_events_write");
  metrics::Counter& batcher_reads = group.Key("batcher_reads");
  metrics::Counter& batcher_write_ignored = group.Key("batcher_write_ignored");
  metrics::Counter& fifo_enqueue_ignored = group.Key("fifo_enqueue_ignored");
  metrics::Counter& hwm_ignored = group.Key("hwm_ignored");
  metrics::Counter& fifo_size = group.Key("fifo_size");  // Set
  // Ours: entries that could not be queued (the disk), hence never sent.
  metrics::Counter& fifo_enqueue_failed = group.Key("fifo_enqueue_failed");
};
ServiceMetrics& ServiceCounters();

struct ServiceOptions {
  Config config;
  std::string node_id;
  std::string dir;  // <data-dir>/cdc
  std::unique_ptr<Sink> sink;
  // Whether this node leads now (polled by the sender).
  std::function<bool()> is_leader;
  // Replicates the high-water mark through the log; `done` once applied.
  std::function<void(uint64_t index, std::function<void(Status)> done)> propose_high_water_mark;
  // How long the sender sleeps when it is not the leader.
  std::chrono::milliseconds follower_poll{200};
};

// /status "cdc", with rqlite's keys.
struct ServiceStatus {
  std::string node_id;
  std::string service_id;
  std::string dir;
  std::string sink;
  uint64_t high_water_mark = 0;
  bool is_leader = false;
  bool fifo_has_next = false;
  uint64_t fifo_length = 0;
};

class Service {
 public:
  static Result<std::unique_ptr<Service>> Open(ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void Start();
  // Stops the sender (a send in flight finishes or times out). Idempotent.
  void Stop();

  // Apply thread. An error means the rows could not be queued: the caller
  // must not go on as if they were (the store stops; a restart replays).
  Status OnChanges(uint64_t index, const std::vector<command::RowChange>& rows);
  void OnHighWaterMark(uint64_t index);
  Status BeforeSnapshot(uint64_t index);

  ServiceStatus status() const;
  const Config& config() const { return options_.config; }

 private:
  explicit Service(ServiceOptions options, std::unique_ptr<Queue> queue);
  void SendLoop();
  // Sends one batch with the retry policy; false when it gave up because
  // leadership was lost or the service stopped.
  bool Deliver(const std::vector<QueuedEntry>& batch);
  void MaybeProposeMark();
  // Sleeps up to `d`; false when stopping.
  bool SleepFor(std::chrono::nanoseconds d);

  ServiceOptions options_;
  std::unique_ptr<Queue> queue_;
  ServiceMetrics& metrics_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  uint64_t appended_ = 0;  // GUARDED_BY(mu_): bumps wake the sender

  // Sender thread only.
  bool leading_ = false;
  uint64_t delivered_ = 0;  // the sink acknowledged every entry up to here
  std::chrono::steady_clock::time_point last_mark_proposal_{};
  // Shared with proposal callbacks, which may outlive the service.
  std::shared_ptr<std::atomic<uint64_t>> proposed_ = std::make_shared<std::atomic<uint64_t>>(0);
  std::shared_ptr<std::atomic<bool>> proposal_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> is_leader_cached_{false};
  std::thread sender_;
};

}  // namespace rq::cdc
