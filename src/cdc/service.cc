#include "cdc/service.h"

#include <algorithm>
#include <cstdio>

#include "base/logging.h"
#include "base/thread_name.h"
#include "cdc/encode.h"

namespace rq::cdc {

namespace {

class StdoutSink final : public Sink {
 public:
  Status Send(const std::string& body) override {
    std::string line = body + "\n";
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
      return Status::IOError("cdc: cannot write to stdout");
    }
    return Status::OK();
  }
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<Sink> MakeStdoutSink() { return std::make_unique<StdoutSink>(); }

ServiceMetrics& ServiceCounters() {
  static ServiceMetrics* metrics = new ServiceMetrics();
  return *metrics;
}

Result<std::unique_ptr<Service>> Service::Open(ServiceOptions options) {
  RQ_RETURN_IF_ERROR(options.config.Validate());
  if (options.sink == nullptr || !options.is_leader || !options.propose_high_water_mark) {
    return Status::InvalidArgument("cdc: a sink, is_leader and propose_high_water_mark are required");
  }
  RQ_ASSIGN_OR_RETURN(std::unique_ptr<Queue> queue, Queue::Open(options.dir));
  return std::unique_ptr<Service>(new Service(std::move(options), std::move(queue)));
}

Service::Service(ServiceOptions options, std::unique_ptr<Queue> queue)
    : options_(std::move(options)), queue_(std::move(queue)), metrics_(ServiceCounters()) {
  metrics_.fifo_size.Set(static_cast<int64_t>(queue_->length()));
}

Service::~Service() { Stop(); }

void Service::Start() {
  RQ_LOG_INFO("cdc: sending to {}; queue {} holds {} entries, high-water mark {}", options_.config.RedactedEndpoint(),
              queue_->path(), queue_->length(), queue_->high_water_mark());
  sender_ = std::thread([this] {
    NameThisThread("cdc-sender");
    SendLoop();
  });
}

void Service::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) options_.sink->Cancel();  // a send may wait transmit_timeout
  if (sender_.joinable()) sender_.join();
}

Status Service::OnChanges(uint64_t index, const std::vector<command::RowChange>& rows) {
  if (index <= queue_->last_index()) {
    metrics_.fifo_enqueue_ignored.Add();  // a replay after a restart: queued already
    return Status::OK();
  }
  Result<bool> appended = queue_->Append(index, EncodeEntry(index, NowMicros(), rows));
  if (!appended.ok()) {
    metrics_.fifo_enqueue_failed.Add();
    return appended.status();
  }
  const bool added = *appended;
  if (!added) {
    metrics_.batcher_write_ignored.Add();
    return Status::OK();
  }
  metrics_.batcher_writes.Add();
  metrics_.batcher_events_write.Add(static_cast<int64_t>(rows.size()));
  metrics_.fifo_size.Set(static_cast<int64_t>(queue_->length()));
  {
    std::lock_guard lock(mu_);
    ++appended_;
  }
  wake_.notify_all();
  return Status::OK();
}

void Service::OnHighWaterMark(uint64_t index) {
  if (index <= queue_->high_water_mark()) {
    metrics_.hwm_ignored.Add();
    return;
  }
  if (Status s = queue_->SetHighWaterMark(index); !s.ok()) {
    // Only pruning is lost: the entries stay queued and a new leader sends
    // them again, which at-least-once allows.
    RQ_LOG_WARN("cdc: cannot record the high-water mark {}: {}", index, s.ToString());
  }
  metrics_.fifo_size.Set(static_cast<int64_t>(queue_->length()));
}

Status Service::BeforeSnapshot(uint64_t) {
  metrics_.snapshot_sync.Add();
  return queue_->Sync();
}

ServiceStatus Service::status() const {
  ServiceStatus s;
  s.node_id = options_.node_id;
  s.service_id = options_.config.service_id;
  s.dir = options_.dir;
  s.sink = options_.config.RedactedEndpoint();
  s.high_water_mark = queue_->high_water_mark();
  s.is_leader = is_leader_cached_.load();
  s.fifo_length = queue_->length();
  s.fifo_has_next = s.fifo_length > 0;
  return s;
}

bool Service::SleepFor(std::chrono::nanoseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void Service::SendLoop() {
  const Config& config = options_.config;
  const auto idle_wait = std::min<std::chrono::nanoseconds>(config.high_watermark_interval, options_.follower_poll);
  for (;;) {
    uint64_t seen_appends;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen_appends = appended_;
    }
    const bool leader = options_.is_leader();
    is_leader_cached_.store(leader);
    if (!leader) {
      leading_ = false;
      if (!SleepFor(options_.follower_poll)) return;
      continue;
    }
    if (!leading_) {
      leading_ = true;
      delivered_ = queue_->high_water_mark();
      proposed_->store(delivered_);
      RQ_LOG_INFO("cdc: leader now; sending queued events after index {}", delivered_);
    }
    delivered_ = std::max(delivered_, queue_->high_water_mark());
    MaybeProposeMark();
    Result<std::vector<QueuedEntry>> batch = queue_->ReadAfter(delivered_, config.max_batch_size);
    if (batch.ok() && !batch->empty() && static_cast<int>(batch->size()) < config.max_batch_size &&
        config.max_batch_delay.count() > 0) {
      // Let the batch fill for up to max_batch_delay.
      if (!SleepFor(config.max_batch_delay)) return;
      batch = queue_->ReadAfter(delivered_, config.max_batch_size);
    }
    if (!batch.ok()) {
      RQ_LOG_ERROR("cdc: cannot read the queue: {}", batch.status().ToString());
      if (!SleepFor(std::chrono::seconds(1))) return;
      continue;
    }
    if (batch->empty()) {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, idle_wait, [&] { return stopping_ || appended_ != seen_appends; });
      continue;
    }
    metrics_.batcher_reads.Add();
    if (Deliver(*batch)) delivered_ = batch->back().index;
  }
}

bool Service::Deliver(const std::vector<QueuedEntry>& batch) {
  const Config& config = options_.config;
  std::vector<std::string> entries;
  entries.reserve(batch.size());
  for (const QueuedEntry& entry : batch) entries.push_back(entry.json);
  const std::string body = EncodeEnvelope(options_.node_id, config.service_id, entries);
  std::chrono::nanoseconds backoff = config.transmit_min_backoff;
  for (int attempt = 1;; ++attempt) {
    Status sent = options_.sink->Send(body);
    if (sent.ok()) {
      metrics_.num_events_tx_ok.Add();
      metrics_.num_bytes_tx.Add(static_cast<int64_t>(body.size()));
      return true;
    }
    metrics_.num_events_tx_failed.Add();
    if (config.transmit_max_retries && attempt >= *config.transmit_max_retries) {
      metrics_.dropped_failed_to_send.Add();
      RQ_LOG_ERROR("cdc: failed to send indexes {}-{} to {} after {} attempts, dropping them: {}", batch.front().index,
                   batch.back().index, config.RedactedEndpoint(), attempt, sent.ToString());
      return true;
    }
    RQ_LOG_WARN("cdc: sending indexes {}-{} failed (attempt {}): {}", batch.front().index, batch.back().index, attempt,
                sent.ToString());
    metrics_.retries.Add();
    if (config.transmit_retry_policy == RetryPolicy::kExponential) {
      backoff = std::min(backoff * 2, config.transmit_max_backoff);
    }
    if (!SleepFor(backoff)) return false;
    // Another leader sends from its own queue now.
    if (!options_.is_leader()) return false;
    MaybeProposeMark();
  }
}

void Service::MaybeProposeMark() {
  const auto now = std::chrono::steady_clock::now();
  if (delivered_ <= proposed_->load() || proposal_in_flight_->load() ||
      now - last_mark_proposal_ < options_.config.high_watermark_interval) {
    return;
  }
  last_mark_proposal_ = now;
  proposal_in_flight_->store(true);
  // The callback may run after this service is gone (the store outlives it).
  options_.propose_high_water_mark(
      delivered_, [index = delivered_, proposed = proposed_, in_flight = proposal_in_flight_](Status s) {
        if (s.ok() && proposed->load() < index) proposed->store(index);
        in_flight->store(false);
      });
}

}  // namespace rq::cdc
