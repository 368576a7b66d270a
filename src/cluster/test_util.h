// Test doubles for cluster tests: a recording RaftReceiver with in-memory
// snapshot sinks, a SnapshotSource producing deterministic bytes on the fly,
// a raw POSIX client for hostile-peer tests, and a polling wait.
// Thread-safety: the fakes lock internally; they are called from I/O threads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/crc32c.h"
#include "cluster/service.h"

namespace rq::cluster::testing {

inline bool WaitFor(const std::function<bool()>& predicate,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

// Byte i of a fake snapshot: cheap, position-dependent, not all equal.
inline char SnapshotByte(uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13); }

struct SinkRecord {
  uint64_t bytes = 0;
  uint32_t crc = 0;
  bool finished = false;
  bool aborted = false;
  bool content_ok = true;  // every byte matched SnapshotByte(position)
};

class RecordingReceiver : public RaftReceiver {
 public:
  void OnRaftMessage(raft::Message message) override {
    std::lock_guard lock(mutex_);
    // Delivered InstallSnapshot must follow a finished sink.
    if (std::holds_alternative<raft::InstallSnapshotRequest>(message.body)) {
      snapshot_delivered_after_finish_ = !sinks_.empty() && sinks_.back()->finished;
    }
    messages_.push_back(std::move(message));
  }
  void OnRaftMessages(std::vector<raft::Message> messages) override {
    if (hold_delivery) hold_delivery->wait();
    {
      std::lock_guard lock(mutex_);
      batch_sizes_.push_back(messages.size());
    }
    RaftReceiver::OnRaftMessages(std::move(messages));
  }
  // Set before messages arrive: the first delivery blocks (holding the
  // transport's I/O thread) until this future is ready.
  std::optional<std::shared_future<void>> hold_delivery;
  std::vector<size_t> batch_sizes() const {
    std::lock_guard lock(mutex_);
    return batch_sizes_;
  }

  Result<std::unique_ptr<SnapshotSink>> BeginSnapshot(const NodeId&, const raft::SnapshotMeta&) override {
    std::lock_guard lock(mutex_);
    auto record = std::make_shared<SinkRecord>();
    sinks_.push_back(record);
    return std::unique_ptr<SnapshotSink>(std::make_unique<Sink>(this, record));
  }

  std::vector<raft::Message> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  size_t message_count() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  std::vector<SinkRecord> sinks() const {
    std::lock_guard lock(mutex_);
    std::vector<SinkRecord> out;
    for (auto& s : sinks_) out.push_back(*s);
    return out;
  }
  bool snapshot_delivered_after_finish() const {
    std::lock_guard lock(mutex_);
    return snapshot_delivered_after_finish_;
  }
  std::atomic<bool> fail_writes{false};

 private:
  class Sink : public SnapshotSink {
   public:
    Sink(RecordingReceiver* owner, std::shared_ptr<SinkRecord> record) : owner_(owner), record_(record) {}
    Status Write(std::string_view chunk) override {
      if (owner_->fail_writes) return Status::IOError("disk full (test)");
      std::lock_guard lock(owner_->mutex_);
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (chunk[i] != SnapshotByte(record_->bytes + i)) record_->content_ok = false;
      }
      record_->crc = crc32c::Extend(record_->crc, chunk.data(), chunk.size());
      record_->bytes += chunk.size();
      return Status::OK();
    }
    Status Finish() override {
      std::lock_guard lock(owner_->mutex_);
      record_->finished = true;
      return Status::OK();
    }
    void Abort() override {
      std::lock_guard lock(owner_->mutex_);
      record_->aborted = true;
    }

   private:
    RecordingReceiver* owner_;
    std::shared_ptr<SinkRecord> record_;
  };

  mutable std::mutex mutex_;
  std::vector<raft::Message> messages_;
  std::vector<std::shared_ptr<SinkRecord>> sinks_;
  std::vector<size_t> batch_sizes_;
  bool snapshot_delivered_after_finish_ = false;
};

class FakeSnapshotSource : public SnapshotSource {
 public:
  explicit FakeSnapshotSource(uint64_t total_bytes) : total_bytes_(total_bytes) {}
  Result<std::unique_ptr<SnapshotReader>> OpenSnapshot(const raft::SnapshotMeta&) override {
    return std::unique_ptr<SnapshotReader>(std::make_unique<Reader>(total_bytes_));
  }
  uint32_t ExpectedCrc() const {
    uint32_t crc = 0;
    for (uint64_t i = 0; i < total_bytes_; ++i) {
      char c = SnapshotByte(i);
      crc = crc32c::Extend(crc, &c, 1);
    }
    return crc;
  }

 private:
  class Reader : public SnapshotReader {
   public:
    explicit Reader(uint64_t total) : total_(total) {}
    uint64_t total_bytes() const override { return total_; }
    Status Read(size_t max_bytes, std::string* out) override {
      size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, total_ - position_));
      out->resize(n);
      for (size_t i = 0; i < n; ++i) (*out)[i] = SnapshotByte(position_ + i);
      position_ += n;
      return Status::OK();
    }

   private:
    uint64_t total_;
    uint64_t position_ = 0;
  };
  uint64_t total_bytes_;
};

// A blocking loopback TCP client that speaks raw bytes.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Write(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until the peer closes or 2 s pass; returns what arrived.
  std::string ReadUntilClose(bool* closed) {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      *closed = n == 0 || (n < 0 && errno == ECONNRESET);
      return out;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace rq::cluster::testing
