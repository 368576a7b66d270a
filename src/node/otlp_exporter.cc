#include "node/otlp_exporter.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>

#include "backup/curl_library.h"
#include "backup/http_client.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "otlp_metrics.pb.h"

namespace rq::node {

using metrics::Counter;
using metrics::Exposition;
using metrics::Histogram;
using metrics::Labels;
using metrics::Sink;

namespace otlp = opentelemetry::proto::collector::metrics::v1;

namespace {

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read the OTLP " + std::string(what) + " " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void AddAttributes(const Labels& labels, google::protobuf::RepeatedPtrField<otlp::KeyValue>* out) {
  for (const auto& [key, value] : labels) {
    otlp::KeyValue* attribute = out->Add();
    attribute->set_key(key);
    attribute->mutable_value()->set_string_value(value);
  }
}

// Builds one request from the sink calls of a collection: one Metric per
// family (consecutive samples of a name), one data point per series.
class RequestBuilder final : public Sink {
 public:
  RequestBuilder(otlp::ScopeMetrics* scope, uint64_t start, uint64_t now)
      : scope_(scope), start_(start), now_(now) {}

  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    otlp::Metric* metric = MetricFor(name, help);
    otlp::Sum* sum = metric->mutable_sum();
    sum->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
    sum->set_is_monotonic(true);
    Point(sum->add_data_points(), labels, value, true);
  }

  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    Point(MetricFor(name, help)->mutable_gauge()->add_data_points(), labels, value, false);
  }

  void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const Histogram::Reading& reading) override {
    otlp::Histogram* histogram = MetricFor(name, help)->mutable_histogram();
    histogram->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
    otlp::HistogramDataPoint* point = histogram->add_data_points();
    AddAttributes(labels, point->mutable_attributes());
    point->set_start_time_unix_nano(start_);
    point->set_time_unix_nano(now_);
    point->set_count(reading.count);
    point->set_sum(reading.sum);
    // OTLP counts each bucket on its own; the reading is cumulative.
    uint64_t below = 0;
    for (uint64_t cumulative : reading.cumulative) {
      point->add_bucket_counts(cumulative - below);
      below = cumulative;
    }
    for (double bound : reading.upper_bounds) point->add_explicit_bounds(bound);
  }

 private:
  otlp::Metric* MetricFor(std::string_view name, std::string_view help) {
    if (current_ == nullptr || current_->name() != name) {
      current_ = scope_->add_metrics();
      current_->set_name(std::string(name));
      current_->set_description(std::string(help));
      if (name.size() > 8 && name.substr(name.size() - 8) == "_seconds") current_->set_unit("s");
      if (name.size() > 6 && name.substr(name.size() - 6) == "_bytes") current_->set_unit("By");
    }
    return current_;
  }

  void Point(otlp::NumberDataPoint* point, const Labels& labels, double value, bool cumulative) {
    AddAttributes(labels, point->mutable_attributes());
    if (cumulative) point->set_start_time_unix_nano(start_);
    point->set_time_unix_nano(now_);
    point->set_as_double(value);
  }

  otlp::ScopeMetrics* scope_;
  otlp::Metric* current_ = nullptr;
  const uint64_t start_;
  const uint64_t now_;
};

struct ExportSeries {
  Exposition& e = Exposition::Default();
  Counter& ok = e.Counter("rqlite_otlp_exports_total", "OTLP metric exports to the collector, by result.",
                          {{"result", "ok"}});
  Counter& failed = e.Counter("rqlite_otlp_exports_total", "", {{"result", "failed"}});
};

ExportSeries& Series() {
  static ExportSeries* series = new ExportSeries();
  return *series;
}

// gRPC's wire format over HTTP/2 (grpc.github.io PROTOCOL-HTTP2): a POST to
// /package.Service/Method whose body is messages, each a compressed-flag
// byte and a 4-byte big-endian length before the bytes; the outcome is the
// grpc-status trailer (or header, for an answer with no message), 0 for OK.
constexpr const char* kExportPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
constexpr size_t kFrameHeaderBytes = 5;

std::string Frame(const std::string& message) {
  const auto length = static_cast<uint32_t>(message.size());
  std::string frame(kFrameHeaderBytes, '\0');
  for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
  return frame + message;
}

// grpc-message is percent-encoded.
std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The outcome of one call: OK, or why not, with the answer's message.
Status ReadAnswer(const backup::HttpResponse& answer, otlp::ExportMetricsServiceResponse* response) {
  const std::string code = answer.Header("grpc-status");  // a proxy may send one with a non-200 answer
  if (!code.empty() && code != "0") {
    return Status::Unavailable(PercentDecode(answer.Header("grpc-message")) + " (gRPC code " + code + ")");
  }
  if (answer.status != 200) return Status::Unavailable("the collector answered HTTP " + std::to_string(answer.status));
  if (code.empty()) return Status::Unavailable("the collector's answer is not gRPC (no grpc-status)");
  const std::string& body = answer.body;
  if (body.empty()) return Status::OK();  // no message: no partial success to report
  if (body.size() < kFrameHeaderBytes) return Status::Unavailable("the collector's answer cannot be read");
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<unsigned char>(body[1 + i]);
  if (body[0] != 0 || body.size() - kFrameHeaderBytes < length ||
      !response->ParseFromArray(body.data() + kFrameHeaderBytes, static_cast<int>(length))) {
    return Status::Unavailable("the collector's answer cannot be read");
  }
  return Status::OK();
}

}  // namespace

struct OtlpExporter::Channel {
  std::string url;
  backup::TlsOptions tls;
  std::atomic<bool> cancelled{false};
};

Result<std::unique_ptr<OtlpExporter>> OtlpExporter::Start(OtlpOptions options, Collect collect) {
  if (options.endpoint.empty()) return Status::InvalidArgument("OTLP export needs an endpoint");
  // The call goes through libcurl: without it, fail the start, not every export.
  if (Result<const backup::CurlLibrary*> curl = backup::LoadCurl(); !curl.ok()) {
    return Status::InvalidArgument("-otlp-endpoint: " + curl.status().message());
  }
  auto channel = std::make_unique<Channel>();
  channel->url = (options.insecure ? "http://" : "https://") + options.endpoint + kExportPath;
  if (!options.insecure) {
    // Read now so that a bad path fails the start, not every export.
    for (const auto& [path, what] : {std::pair{options.ca_cert_file, "CA certificate"},
                                     std::pair{options.cert_file, "certificate"}, std::pair{options.key_file, "key"}}) {
      if (!path.empty()) RQ_RETURN_IF_ERROR(ReadFile(path, what).status());
    }
    channel->tls.ca_file = options.ca_cert_file;
    channel->tls.cert_file = options.cert_file;
    channel->tls.key_file = options.key_file;
    channel->tls.insecure_skip_verify = options.no_verify;
  }
  Series();
  std::unique_ptr<OtlpExporter> exporter(new OtlpExporter(std::move(options), std::move(collect), std::move(channel)));
  exporter->thread_ = std::thread([raw = exporter.get()] { raw->Run(); });
  return exporter;
}

OtlpExporter::OtlpExporter(OtlpOptions options, Collect collect, std::unique_ptr<Channel> channel)
    : options_(std::move(options)),
      collect_(std::move(collect)),
      channel_(std::move(channel)),
      start_unix_nanos_(UnixNanos()) {}

OtlpExporter::~OtlpExporter() { Stop(); }

void OtlpExporter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  channel_->cancelled = true;
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::Run() {
  NameThisThread("otlp");
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
    lock.unlock();
    Status exported = ExportOnce();
    if (!exported.ok()) RQ_LOG_WARN("otlp: export to {} failed: {}", options_.endpoint, exported.ToString());
    lock.lock();
  }
}

Status OtlpExporter::ExportOnce() {
  otlp::ExportMetricsServiceRequest request;
  otlp::ResourceMetrics* resource = request.add_resource_metrics();
  for (const auto& [key, value] : options_.resource) {
    otlp::KeyValue* attribute = resource->mutable_resource()->add_attributes();
    attribute->set_key(key);
    attribute->mutable_value()->set_string_value(value);
  }
  otlp::ScopeMetrics* scope = resource->add_scope_metrics();
  scope->mutable_scope()->set_name("rqlited");
  RequestBuilder builder(scope, static_cast<uint64_t>(start_unix_nanos_), static_cast<uint64_t>(UnixNanos()));
  collect_(builder);

  if (channel_->cancelled) return Status::Aborted("the exporter is stopping");
  std::string message;
  if (!request.SerializeToString(&message)) return Status::Internal("cannot encode the OTLP request");
  // At least 1 ms: libcurl reads a 0 ms timeout as none.
  const auto timeout = std::max(
      std::chrono::milliseconds(1),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::min(options_.timeout, options_.interval)));
  backup::HttpRequest post;
  post.method = "POST";
  post.url = channel_->url;
  post.http2 = true;
  post.headers = {{"content-type", "application/grpc"},
                  {"te", "trailers"},
                  {"grpc-timeout", std::to_string(timeout.count()) + "m"}};
  post.body.push_back(backup::BodyPiece::Bytes(Frame(message)));
  post.timeout = timeout;
  post.cancel = &channel_->cancelled;
  post.tls = channel_->tls;
  Result<backup::HttpResponse> answer = backup::PerformHttp(post);
  otlp::ExportMetricsServiceResponse response;
  Status result = answer.ok() ? ReadAnswer(*answer, &response) : answer.status();
  if (!result.ok()) {
    result = Status::Unavailable("OTLP export: " + result.message());
  } else if (response.has_partial_success() && response.partial_success().rejected_data_points() > 0) {
    result = Status::Unavailable("the collector rejected " +
                                 std::to_string(response.partial_success().rejected_data_points()) +
                                 " data points: " + response.partial_success().error_message());
  }
  std::lock_guard lock(mutex_);
  if (result.ok()) {
    ++stats_.exports_ok;
    Series().ok.Add();
  } else {
    ++stats_.exports_failed;
    stats_.last_error = result.message();
    Series().failed.Add();
  }
  return result;
}

OtlpExporter::Stats OtlpExporter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace rq::node
