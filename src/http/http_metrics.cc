// The HTTP layer's Prometheus series, looked up once per (endpoint, code)
// and cached in a table of atomics, so a request costs two relaxed adds
// (three with a latency) and no lock after the first of its kind.
#include "http/http_metrics.h"

#include <array>
#include <atomic>
#include <string>

#include "http/handler.h"
#include "metrics/trace.h"
#include "metrics/prometheus.h"

namespace rq::http {
namespace {

constexpr size_t kEndpoints = static_cast<size_t>(Endpoint::kNotFound) + 1;
constexpr int kFirstCode = 100;
constexpr int kLastCode = 599;

// The label: the route as rqlite's docs name it.
std::string_view EndpointLabel(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kRoot: return "/";
    case Endpoint::kConsoleRedirect:
    case Endpoint::kConsole: return "/console";
    case Endpoint::kExecute: return "/db/execute";
    case Endpoint::kQuery: return "/db/query";
    case Endpoint::kRequest: return "/db/request";
    case Endpoint::kSql: return "/db/sql";
    case Endpoint::kBackup: return "/db/backup";
    case Endpoint::kLoad: return "/db/load";
    case Endpoint::kBoot: return "/boot";
    case Endpoint::kRemove: return "/remove";
    case Endpoint::kLeader: return "/leader";
    case Endpoint::kSnapshot: return "/snapshot";
    case Endpoint::kReap: return "/reap";
    case Endpoint::kNodes: return "/nodes";
    case Endpoint::kReadyz: return "/readyz";
    case Endpoint::kStatus: return "/status";
    case Endpoint::kDebugVars: return "/debug/vars";
    case Endpoint::kMetrics: return "/metrics";
    case Endpoint::kPprof: return "/debug/pprof";
    case Endpoint::kLicenses: return "/licenses";
    case Endpoint::kNotFound: return "other";
  }
  return "other";
}

struct ReplySeries {
  std::array<std::array<std::atomic<metrics::Counter*>, kLastCode - kFirstCode + 1>, kEndpoints> requests{};
  std::array<metrics::Histogram*, kEndpoints> latency{};

  ReplySeries() {
    for (Endpoint endpoint : {Endpoint::kExecute, Endpoint::kQuery, Endpoint::kRequest}) {
      latency[static_cast<size_t>(endpoint)] = &metrics::Exposition::Default().Histogram(
          "rqlite_http_request_duration_seconds",
          "Time from a request's arrival to its answer, for /db/execute, /db/query and /db/request.",
          {{"endpoint", std::string(EndpointLabel(endpoint))}});
    }
  }
};

ReplySeries& Series() {
  static ReplySeries* series = new ReplySeries();  // never destroyed: counted until exit
  return *series;
}

metrics::Counter& RequestsCounter(Endpoint endpoint, int status) {
  return metrics::Exposition::Default().Counter(
      "rqlite_http_requests_total", "HTTP requests answered, by endpoint and status code.",
      {{"endpoint", std::string(EndpointLabel(endpoint))}, {"code", std::to_string(status)}});
}

}  // namespace

void ObserveReply(Endpoint endpoint, int status, std::chrono::nanoseconds elapsed) {
  ReplySeries& series = Series();
  const size_t e = static_cast<size_t>(endpoint);
  if (e >= kEndpoints) return;
  if (status < kFirstCode || status > kLastCode) {
    RequestsCounter(endpoint, status).Add();
  } else {
    std::atomic<metrics::Counter*>& slot = series.requests[e][status - kFirstCode];
    metrics::Counter* counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &RequestsCounter(endpoint, status);  // the same series from every racer
      slot.store(counter, std::memory_order_release);
    }
    counter->Add();
  }
  if (metrics::Histogram* latency = series.latency[e]) {
    latency->Observe(std::chrono::duration<double>(elapsed).count());
  }
  if (metrics::TraceRecorder* trace = metrics::ActiveTrace()) {
    trace->Span("http", EndpointLabel(endpoint), std::chrono::steady_clock::now() - elapsed, elapsed, status);
  }
}

}  // namespace rq::http
