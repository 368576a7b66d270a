#include "node/cdc_feed.h"

#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <fstream>
#include <sstream>

#include "backup/curl_library.h"
#include "backup/http_client.h"
#include "base/logging.h"

namespace rq::node {

namespace {

class HttpSink final : public cdc::Sink {
 public:
  explicit HttpSink(const cdc::Config& config) : config_(config) {
    url_ = config.endpoint;
    // Go's tls.Config.ServerName: the name checked in the certificate (and
    // sent as SNI) differs from the address dialled. libcurl checks the
    // URL's name, so the URL carries server_name and CONNECT_TO dials the
    // real address; the Host header stays the endpoint's.
    boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_uri(config.endpoint);
    if (!config.tls.server_name.empty() && parsed) {
      boost::urls::url rewritten(*parsed);
      const std::string host(parsed->encoded_host_and_port());
      const std::string port = parsed->has_port() ? std::string(parsed->port())
                                                  : (parsed->scheme() == "https" ? "443" : "80");
      rewritten.set_host(config.tls.server_name);
      url_ = std::string(rewritten.buffer());
      connect_to_ = config.tls.server_name + ":" + port + ":" + std::string(parsed->encoded_host()) + ":" + port;
      host_header_ = host;
    }
  }

  Status Send(const std::string& body) override {
    backup::HttpRequest request;
    request.method = "POST";
    request.url = url_;
    request.headers.emplace_back("Content-Type", "application/json");
    if (!host_header_.empty()) request.headers.emplace_back("Host", host_header_);
    request.body.push_back(backup::BodyPiece::Bytes(body));
    request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.transmit_timeout);
    request.tls.ca_file = config_.tls.ca_cert_file;
    request.tls.cert_file = config_.tls.cert_file;
    request.tls.key_file = config_.tls.key_file;
    request.tls.insecure_skip_verify = config_.tls.insecure_skip_verify;
    request.connect_to = connect_to_;
    request.cancel = &cancelled_;
    Result<backup::HttpResponse> answer = backup::PerformHttp(request);
    if (!answer.ok()) return answer.status();
    if (answer->status == 200 || answer->status == 202) return Status::OK();
    return Status::IOError("endpoint answered HTTP " + std::to_string(answer->status) + ": " +
                           answer->body.substr(0, 200));
  }

  void Cancel() override { cancelled_.store(true); }

 private:
  const cdc::Config config_;
  std::atomic<bool> cancelled_{false};
  std::string url_;
  std::string connect_to_;
  std::string host_header_;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read the CDC config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::unique_ptr<cdc::Sink> MakeHttpSink(const cdc::Config& config) { return std::make_unique<HttpSink>(config); }

Result<std::unique_ptr<CdcFeed>> CdcFeed::Create(const std::string& flag, const std::string& node_id,
                                                 const std::string& data_dir) {
  cdc::Config config;
  if (cdc::FlagIsPath(flag)) {
    RQ_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(flag));
    Result<cdc::ParsedConfig> parsed = cdc::ParseConfigJson(text);
    if (!parsed.ok()) return Status::InvalidArgument(flag + ": " + parsed.status().message());
    for (const std::string& field : parsed->warnings) {
      RQ_LOG_WARN("cdc: {} has a field this build does not know, \"{}\"; it has no effect", flag, field);
    }
    config = std::move(parsed->config);
  } else {
    RQ_ASSIGN_OR_RETURN(config, cdc::ConfigForEndpoint(flag));
  }
  std::unique_ptr<CdcFeed> feed(new CdcFeed());
  RQ_ASSIGN_OR_RETURN(feed->table_matcher_, cdc::CompileTableFilter(config.table_filter));
  cdc::ServiceOptions options;
  options.node_id = node_id;
  options.dir = data_dir + "/cdc";
  if (!config.to_stdout()) {  // the HTTP sink needs libcurl: without it, fail the start
    if (Result<const backup::CurlLibrary*> curl = backup::LoadCurl(); !curl.ok()) {
      return Status::InvalidArgument(flag + ": " + curl.status().message());
    }
  }
  options.sink = config.to_stdout() ? cdc::MakeStdoutSink() : MakeHttpSink(config);
  options.config = std::move(config);
  CdcFeed* self = feed.get();
  options.is_leader = [self] {
    store::Store* store = self->store_.load();
    return store != nullptr && store->is_leader();
  };
  options.propose_high_water_mark = [self](uint64_t index, std::function<void(Status)> done) {
    store::Store* store = self->store_.load();
    if (store == nullptr) {
      done(Status::Aborted("store not running"));
      return;
    }
    store->ProposeCdcHighWaterMark(LogIndex(index), std::move(done));
  };
  RQ_ASSIGN_OR_RETURN(feed->service_, cdc::Service::Open(std::move(options)));
  return feed;
}

CdcFeed::~CdcFeed() { Stop(); }

db::ChangeCaptureOptions CdcFeed::capture_options() const {
  db::ChangeCaptureOptions capture;
  capture.enabled = true;
  capture.table_filter = table_matcher_;
  capture.row_ids_only = service_->config().row_ids_only;
  return capture;
}

void CdcFeed::Start(store::Store* store) {
  store_.store(store);
  service_->Start();
}

void CdcFeed::Stop() {
  if (service_) service_->Stop();
  store_.store(nullptr);
}

Status CdcFeed::OnChanges(LogIndex index, std::vector<command::RowChange> rows) {
  return service_->OnChanges(index.value(), rows);
}

void CdcFeed::OnHighWaterMark(LogIndex index) { service_->OnHighWaterMark(index.value()); }

Status CdcFeed::BeforeSnapshot(LogIndex index) { return service_->BeforeSnapshot(index.value()); }

boost::json::value CdcFeed::StatusJson() const {
  const cdc::ServiceStatus s = service_->status();
  boost::json::object out;
  out["node_id"] = s.node_id;
  if (!s.service_id.empty()) out["service_id"] = s.service_id;
  out["dir"] = s.dir;
  out["highwater_mark"] = s.high_water_mark;
  out["is_leader"] = s.is_leader;
  out["sink"] = s.sink;
  out["fifo"] = boost::json::object{{"has_next", s.fifo_has_next}, {"length", s.fifo_length}};
  return out;
}

}  // namespace rq::node
