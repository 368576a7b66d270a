// OTLP metrics push (rqlite's -otlp-* flags): every interval, the same
// series /metrics shows are collected into an OTLP ExportMetricsServiceRequest
// (counters as cumulative monotonic sums, gauges, histograms with explicit
// buckets) and sent to a collector as a unary gRPC call, in plaintext or TLS
// as the options say. The call is one HTTP/2 POST made with the backup
// HTTP client (libcurl, loaded only when OTLP is on): gRPC's framing is a
// byte and a length before the message, and its status comes back in
// trailers, so a node needs no gRPC library. It runs on one thread of its
// own: a collector that is down or slow costs a failed export (logged,
// counted, tried again at the next interval), never a wait anywhere else.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "metrics/prometheus.h"

namespace rq::node {

struct OtlpOptions {
  std::string endpoint;  // host:port of the collector's OTLP/gRPC receiver
  std::chrono::nanoseconds interval = std::chrono::seconds(30);
  bool insecure = false;   // plaintext gRPC
  bool no_verify = false;  // TLS without checking the collector's certificate
  std::string ca_cert_file;
  std::string cert_file;  // client certificate and key, both or neither
  std::string key_file;
  // Per export; at most the interval.
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  // Resource attributes, e.g. {"service.name", "rqlite"}.
  std::vector<std::pair<std::string, std::string>> resource;
};

class OtlpExporter {
 public:
  using Collect = std::function<void(metrics::Sink&)>;

  // Reads the certificate files and starts the export thread; the first
  // export happens one interval from now. An unreadable file is an error.
  static Result<std::unique_ptr<OtlpExporter>> Start(OtlpOptions options, Collect collect);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Stops the thread (an export in flight is cancelled within about a
  // second, libcurl's progress interval). Idempotent.
  void Stop();
  // One export now, on the caller's thread (tests, and a last push at stop).
  Status ExportOnce();

  struct Stats {
    uint64_t exports_ok = 0;
    uint64_t exports_failed = 0;
    std::string last_error;
  };
  Stats stats() const;

 private:
  struct Channel;
  OtlpExporter(OtlpOptions options, Collect collect, std::unique_ptr<Channel> channel);
  void Run();

  const OtlpOptions options_;
  const Collect collect_;
  const std::unique_ptr<Channel> channel_;
  const int64_t start_unix_nanos_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  Stats stats_;            // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace rq::node
