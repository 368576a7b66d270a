// A receiver of OTLP metrics for the e2e tests: implements OpenTelemetry's
// MetricsService over plaintext gRPC on 127.0.0.1:PORT and prints every
// request it gets as one line of JSON on stdout (protobuf's JSON mapping).
// Usage: otlp_receiver PORT. Runs until killed.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>

#include "otlp_metrics.grpc.pb.h"

namespace otlp = opentelemetry::proto::collector::metrics::v1;

class Printer final : public otlp::MetricsService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const otlp::ExportMetricsServiceRequest* request,
                      otlp::ExportMetricsServiceResponse*) override {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(*request, &json, options).ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "cannot print the request");
    }
    std::lock_guard lock(mutex_);
    std::cout << json << std::endl;
    return grpc::Status::OK;
  }

 private:
  std::mutex mutex_;
};

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: otlp_receiver PORT\n");
    return 2;
  }
  Printer printer;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("127.0.0.1:") + argv[1], grpc::InsecureServerCredentials());
  builder.RegisterService(&printer);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "otlp_receiver: cannot listen on port %s\n", argv[1]);
    return 1;
  }
  std::fprintf(stderr, "otlp_receiver: listening on 127.0.0.1:%s\n", argv[1]);
  server->Wait();
  return 0;
}
