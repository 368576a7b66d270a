// The OTLP exporter against a receiver in the test: an in-process gRPC
// server implementing OpenTelemetry's MetricsService, in plaintext and TLS
// (a certificate made with the openssl CLI), and a collector that is down.
#include "node/otlp_exporter.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "otlp_metrics.grpc.pb.h"

namespace rq::node {

using metrics::Histogram;
using metrics::Sink;
namespace {

namespace otlp = opentelemetry::proto::collector::metrics::v1;

class Receiver final : public otlp::MetricsService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const otlp::ExportMetricsServiceRequest* request,
                      otlp::ExportMetricsServiceResponse*) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(*request);
    arrived_.notify_all();
    return answer_;
  }

  void Answer(grpc::Status status) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(status);
  }

  bool WaitFor(size_t count, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

  otlp::ExportMetricsServiceRequest Last() {
    std::lock_guard lock(mutex_);
    return requests_.back();
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<otlp::ExportMetricsServiceRequest> requests_;
  grpc::Status answer_ = grpc::Status::OK;
};

struct Server {
  Receiver receiver;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  explicit Server(std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterService(&receiver);
    server = builder.BuildAndStart();
  }
  ~Server() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port); }
};

void Collect(Sink& sink) {
  sink.Counter("rqlite_http_requests_total", "Requests.", {{"endpoint", "/db/execute"}, {"code", "200"}}, 7);
  sink.Counter("rqlite_http_requests_total", "Requests.", {{"endpoint", "/db/query"}, {"code", "200"}}, 3);
  sink.Gauge("rqlite_raft_term", "Term.", {}, 4);
  Histogram latency({0.01, 0.1});
  latency.Observe(0.005);
  latency.Observe(0.05);
  latency.Observe(0.06);
  latency.Observe(5);
  sink.Histogram("rqlite_http_request_duration_seconds", "Latency.", {{"endpoint", "/db/execute"}}, latency.Read());
}

OtlpOptions Plaintext(const std::string& endpoint) {
  OtlpOptions options;
  options.endpoint = endpoint;
  options.insecure = true;
  options.interval = std::chrono::hours(1);
  options.timeout = std::chrono::seconds(5);
  options.resource = {{"service.name", "rqlite"}, {"service.instance.id", "node-1"}};
  return options;
}

const otlp::Metric* Find(const otlp::ExportMetricsServiceRequest& request, const std::string& name) {
  for (const auto& metric : request.resource_metrics(0).scope_metrics(0).metrics()) {
    if (metric.name() == name) return &metric;
  }
  return nullptr;
}

TEST(OtlpExporterTest, ExportsCountersGaugesAndHistogramsInOtlpShape) {
  Server server;
  auto exporter = OtlpExporter::Start(Plaintext(server.endpoint()), Collect);
  ASSERT_TRUE(exporter.ok()) << exporter.status().ToString();
  ASSERT_TRUE((*exporter)->ExportOnce().ok());
  ASSERT_TRUE(server.receiver.WaitFor(1, std::chrono::seconds(5)));
  const otlp::ExportMetricsServiceRequest request = server.receiver.Last();
  ASSERT_EQ(request.resource_metrics_size(), 1);
  const auto& attributes = request.resource_metrics(0).resource().attributes();
  ASSERT_EQ(attributes.size(), 2);
  EXPECT_EQ(attributes[0].key(), "service.name");
  EXPECT_EQ(attributes[0].value().string_value(), "rqlite");

  const otlp::Metric* requests = Find(request, "rqlite_http_requests_total");
  ASSERT_NE(requests, nullptr);
  ASSERT_TRUE(requests->has_sum());
  EXPECT_TRUE(requests->sum().is_monotonic());
  EXPECT_EQ(requests->sum().aggregation_temporality(), otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  ASSERT_EQ(requests->sum().data_points_size(), 2);  // one metric, two series
  EXPECT_EQ(requests->sum().data_points(0).as_double(), 7);
  EXPECT_EQ(requests->sum().data_points(0).attributes(0).value().string_value(), "/db/execute");
  EXPECT_GT(requests->sum().data_points(0).time_unix_nano(), requests->sum().data_points(0).start_time_unix_nano());

  const otlp::Metric* term = Find(request, "rqlite_raft_term");
  ASSERT_NE(term, nullptr);
  ASSERT_TRUE(term->has_gauge());
  EXPECT_EQ(term->gauge().data_points(0).as_double(), 4);

  const otlp::Metric* latency = Find(request, "rqlite_http_request_duration_seconds");
  ASSERT_NE(latency, nullptr);
  ASSERT_TRUE(latency->has_histogram());
  EXPECT_EQ(latency->unit(), "s");
  const auto& point = latency->histogram().data_points(0);
  EXPECT_EQ(point.count(), 4u);
  EXPECT_NEAR(point.sum(), 5.115, 1e-9);
  ASSERT_EQ(point.explicit_bounds_size(), 2);
  ASSERT_EQ(point.bucket_counts_size(), 3);  // per bucket, not cumulative
  EXPECT_EQ(point.bucket_counts(0), 1u);
  EXPECT_EQ(point.bucket_counts(1), 2u);
  EXPECT_EQ(point.bucket_counts(2), 1u);
  EXPECT_EQ((*exporter)->stats().exports_ok, 1u);
}

TEST(OtlpExporterTest, PushesEveryIntervalAndStopsPromptly) {
  Server server;
  OtlpOptions options = Plaintext(server.endpoint());
  options.interval = std::chrono::milliseconds(100);
  auto exporter = OtlpExporter::Start(options, Collect);
  ASSERT_TRUE(exporter.ok());
  EXPECT_TRUE(server.receiver.WaitFor(3, std::chrono::seconds(10)));
  const auto before = std::chrono::steady_clock::now();
  (*exporter)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
}

TEST(OtlpExporterTest, ACollectorThatIsDownCostsAFailedExportNotAWait) {
  int port = 0;
  {
    Server closed;  // a port that was just free, and is closed again
    port = closed.port;
  }
  OtlpOptions options = Plaintext("127.0.0.1:" + std::to_string(port));
  options.timeout = std::chrono::milliseconds(500);
  auto exporter = OtlpExporter::Start(options, Collect);
  ASSERT_TRUE(exporter.ok());
  const auto before = std::chrono::steady_clock::now();
  Status exported = (*exporter)->ExportOnce();
  EXPECT_FALSE(exported.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3));
  EXPECT_EQ((*exporter)->stats().exports_failed, 1u);
  EXPECT_FALSE((*exporter)->stats().last_error.empty());
}

TEST(OtlpExporterTest, AGrpcErrorFromTheCollectorIsAFailedExportWithItsMessage) {
  Server server;
  server.receiver.Answer(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many points: 100% full"));
  auto exporter = OtlpExporter::Start(Plaintext(server.endpoint()), Collect);
  ASSERT_TRUE(exporter.ok());
  Status exported = (*exporter)->ExportOnce();
  ASSERT_FALSE(exported.ok());
  EXPECT_NE(exported.message().find("too many points: 100% full (gRPC code 8)"), std::string::npos)
      << exported.ToString();
  EXPECT_EQ((*exporter)->stats().exports_failed, 1u);

  server.receiver.Answer(grpc::Status::OK);  // the next interval succeeds again
  exported = (*exporter)->ExportOnce();
  EXPECT_TRUE(exported.ok()) << exported.ToString();
  EXPECT_EQ((*exporter)->stats().exports_ok, 1u);
}

class OtlpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("otlp-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string command = "cd " + dir_.string() +
                                " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem"
                                " -subj /CN=localhost -days 2 -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
                                " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl could not make a certificate";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::shared_ptr<grpc::ServerCredentials> ServerTls() {
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({Read("key.pem"), Read("cert.pem")});
    return grpc::SslServerCredentials(options);
  }

  OtlpOptions Tls(const std::string& endpoint) {
    OtlpOptions options = Plaintext(endpoint);
    options.insecure = false;
    options.timeout = std::chrono::seconds(3);
    return options;
  }

  std::filesystem::path dir_;
};

TEST_F(OtlpTlsTest, TrustsTheCollectorThroughTheCaFile) {
  Server server(ServerTls());
  OtlpOptions options = Tls("localhost:" + std::to_string(server.port));
  options.ca_cert_file = (dir_ / "cert.pem").string();
  auto exporter = OtlpExporter::Start(options, Collect);
  ASSERT_TRUE(exporter.ok());
  Status exported = (*exporter)->ExportOnce();
  EXPECT_TRUE(exported.ok()) << exported.ToString();
}

TEST_F(OtlpTlsTest, RefusesAnUntrustedCollectorUnlessToldNotToVerify) {
  Server server(ServerTls());
  auto verifying = OtlpExporter::Start(Tls("localhost:" + std::to_string(server.port)), Collect);
  ASSERT_TRUE(verifying.ok());
  EXPECT_FALSE((*verifying)->ExportOnce().ok());  // self-signed, not in the system's roots

  OtlpOptions options = Tls("127.0.0.1:" + std::to_string(server.port));
  options.no_verify = true;
  auto trusting = OtlpExporter::Start(options, Collect);
  ASSERT_TRUE(trusting.ok());
  Status exported = (*trusting)->ExportOnce();
  EXPECT_TRUE(exported.ok()) << exported.ToString();
}

TEST(OtlpExporterTest, AnUnreadableCertificateFileIsAnError) {
  OtlpOptions options = Plaintext("127.0.0.1:1");
  options.insecure = false;
  options.ca_cert_file = "/nonexistent/ca.pem";
  auto exporter = OtlpExporter::Start(options, Collect);
  ASSERT_FALSE(exporter.ok());
  EXPECT_NE(exporter.status().message().find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace rq::node
