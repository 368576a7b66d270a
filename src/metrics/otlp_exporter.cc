#include "metrics/otlp_exporter.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>
#include <map>
#include <sstream>

#include "base/logging.h"
#include "base/thread_name.h"
#include "otlp_metrics.grpc.pb.h"

namespace rq::metrics {

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

}  // namespace

struct OtlpExporter::Channel {
  std::unique_ptr<otlp::MetricsService::Stub> stub;
  std::mutex mutex;
  grpc::ClientContext* in_flight = nullptr;  // GUARDED_BY(mutex)
  bool cancelled = false;                   // GUARDED_BY(mutex)
};

Result<std::unique_ptr<OtlpExporter>> OtlpExporter::Start(OtlpOptions options, Collect collect) {
  if (options.endpoint.empty()) return Status::InvalidArgument("OTLP export needs an endpoint");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    std::string ca, cert, key;
    const auto read = [](const std::string& path, std::string_view what, std::string* out) {
      if (path.empty()) return Status::OK();
      Result<std::string> text = ReadFile(path, what);
      if (!text.ok()) return text.status();
      *out = std::move(text).value();
      return Status::OK();
    };
    RQ_RETURN_IF_ERROR(read(options.ca_cert_file, "CA certificate", &ca));
    RQ_RETURN_IF_ERROR(read(options.cert_file, "certificate", &cert));
    RQ_RETURN_IF_ERROR(read(options.key_file, "key", &key));
    if (options.no_verify) {
      grpc::experimental::TlsChannelCredentialsOptions tls;
      tls.set_verify_server_certs(false);
      tls.set_check_call_host(false);
      tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
      if (!cert.empty()) {
        tls.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}}));
        tls.watch_identity_key_cert_pairs();
      }
      credentials = grpc::experimental::TlsCredentials(tls);
    } else {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ca;  // empty: the system's roots
      ssl.pem_cert_chain = cert;
      ssl.pem_private_key = key;
      credentials = grpc::SslCredentials(ssl);
    }
  }
  if (credentials == nullptr) return Status::InvalidArgument("cannot make OTLP credentials");
  auto channel = std::make_unique<Channel>();
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // the next interval is the retry
  channel->stub = otlp::MetricsService::NewStub(grpc::CreateCustomChannel(options.endpoint, credentials, arguments));
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
  {
    std::lock_guard lock(channel_->mutex);
    channel_->cancelled = true;
    if (channel_->in_flight != nullptr) channel_->in_flight->TryCancel();
  }
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

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::min(options_.timeout, options_.interval));
  {
    std::lock_guard lock(channel_->mutex);
    if (channel_->cancelled) return Status::Aborted("the exporter is stopping");
    channel_->in_flight = &context;
  }
  otlp::ExportMetricsServiceResponse response;
  const grpc::Status status = channel_->stub->Export(&context, request, &response);
  {
    std::lock_guard lock(channel_->mutex);
    channel_->in_flight = nullptr;
  }
  Status result = Status::OK();
  if (!status.ok()) {
    result = Status::Unavailable("OTLP export: " + status.error_message() + " (gRPC code " +
                                 std::to_string(static_cast<int>(status.error_code())) + ")");
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

}  // namespace rq::metrics
