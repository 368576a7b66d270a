#include "client/http_client.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace rq::client {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// A loopback HTTP(S) server: one thread accepts, one thread per connection
// answers requests with `handler` until the client closes.
class TestServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit TestServer(Handler handler, ssl::context* tls = nullptr, bool close_after_each = false)
      : handler_(std::move(handler)), tls_(tls), close_after_each_(close_after_each),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestServer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);
    accept_thread_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& thread : connection_threads_) thread.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  int connections() const { return connections_; }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) return;
      ++connections_;
      std::lock_guard lock(mutex_);
      sockets_.push_back(socket);
      connection_threads_.emplace_back([this, socket] { Serve(socket); });
    }
  }

  void Serve(std::shared_ptr<tcp::socket> socket) {
    boost::system::error_code ec;
    if (tls_ == nullptr) {
      ServeOn(*socket);
    } else {
      beast::ssl_stream<tcp::socket&> stream(*socket, *tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) ServeOn(stream);
    }
    socket->shutdown(tcp::socket::shutdown_both, ec);
  }

  template <typename Stream>
  void ServeOn(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      HttpRequest request;
      boost::system::error_code ec;
      http::read(stream, buffer, request, ec);
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      HttpResponse response = handler_(request);
      response.prepare_payload();
      http::write(stream, response, ec);
      if (ec || close_after_each_) return;
    }
  }

  Handler handler_;
  ssl::context* tls_;
  bool close_after_each_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> connection_threads_;
  std::vector<HttpRequest> requests_;
};

HttpResponse Reply(int status, std::string body) {
  HttpResponse response{static_cast<http::status>(status), 11};
  response.set("X-RQLITE-VERSION", "v9.9.9");
  response.body() = std::move(body);
  return response;
}

std::unique_ptr<HttpClient> MustCreate(ClientOptions options) {
  auto client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

ClientOptions OptionsFor(std::string address) {
  ClientOptions options;
  options.hosts = {std::move(address)};
  return options;
}

Request RequestFor(std::string target, Method method = Method::kGet) {
  Request request;
  request.method = method;
  request.target = std::move(target);
  return request;
}

uint16_t DeadPort() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();  // closed again when we return
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(HttpClientTest, GetReturnsStatusBodyAndVersionHeader) {
  TestServer server([](const HttpRequest&) { return Reply(200, "{\"ok\":true}"); });
  auto client = MustCreate(OptionsFor(server.address()));
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"ok\":true}");
  EXPECT_EQ(response->version, "v9.9.9");
  EXPECT_EQ(server.requests()[0].target(), "/status");
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  TestServer server([](const HttpRequest&) { return Reply(200, "x"); });
  auto client = MustCreate(OptionsFor(server.address()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Send(RequestFor("status")).ok());
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, ServerClosingIdleConnectionIsRetriedOnAFreshOne) {
  TestServer server([](const HttpRequest&) { return Reply(200, "x"); }, nullptr, true);
  auto client = MustCreate(OptionsFor(server.address()));
  ASSERT_TRUE(client->Send(RequestFor("a")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Result<Response> second = client->Send(RequestFor("b"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientTest, PrefixAuthAndBodyAreSent) {
  TestServer server([](const HttpRequest&) { return Reply(200, "{}"); });
  ClientOptions options = OptionsFor(server.address());
  options.prefix = "/rq";
  options.basic_auth = "bob:secret";
  auto client = MustCreate(options);
  Request request = RequestFor("db/request?timings", Method::kPost);
  request.body = "[\"SELECT 1\"]";
  request.content_type = "application/json";
  ASSERT_TRUE(client->Send(request).ok());
  HttpRequest seen = server.requests()[0];
  EXPECT_EQ(seen.method(), http::verb::post);
  EXPECT_EQ(seen.target(), "/rq/db/request?timings");
  EXPECT_EQ(seen[http::field::authorization], "Basic Ym9iOnNlY3JldA==");
  EXPECT_EQ(seen[http::field::content_type], "application/json");
  EXPECT_EQ(seen.body(), "[\"SELECT 1\"]");
}

TEST(HttpClientTest, LeaderRedirectIsFollowed) {
  TestServer leader([](const HttpRequest&) { return Reply(200, "from leader"); });
  std::string location = "http://" + leader.address() + "/db/execute?x=1";
  TestServer follower([&](const HttpRequest&) {
    HttpResponse response = Reply(301, "");
    response.set(http::field::location, location);
    return response;
  });
  auto client = MustCreate(OptionsFor(follower.address()));
  Request request = RequestFor("db/execute", Method::kPost);
  request.body = "[]";
  Result<Response> response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "from leader");
  EXPECT_EQ(leader.requests()[0].target(), "/db/execute?x=1");
  EXPECT_EQ(leader.requests()[0].body(), "[]");
  EXPECT_EQ(client->current_host(), follower.address());
}

TEST(HttpClientTest, FailsOverToAlternativeAndKeepsIt) {
  TestServer server([](const HttpRequest&) { return Reply(200, "alive"); });
  std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  ClientOptions options = OptionsFor(dead);
  options.hosts.push_back(server.address());
  auto client = MustCreate(options);
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "alive");
  EXPECT_EQ(client->current_host(), server.address());
  EXPECT_EQ(client->current_url(), "http://" + server.address());
}

TEST(HttpClientTest, UnreachableHostIsUnavailableWithClearMessage) {
  std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  auto client = MustCreate(OptionsFor(dead));
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(response.status().message(), "cannot reach rqlited at http://" + dead + ": connection refused");
}

TEST(HttpClientTest, SilentServerTimesOut) {
  TestServer server([](const HttpRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return Reply(200, "late");
  });
  ClientOptions options = OptionsFor(server.address());
  options.timeout = std::chrono::milliseconds(200);
  auto client = MustCreate(options);
  auto started = std::chrono::steady_clock::now();
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsTimeout()) << response.status().ToString();
  EXPECT_EQ(response.status().message(),
            "request to http://" + server.address() + " timed out after 0.2s (read from)");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1200));
}

TEST(HttpClientTest, ResponseStreamsToFileOnlyWhenOk) {
  std::string big(300 * 1024, 'b');
  TestServer server([&](const HttpRequest& request) {
    return request.target() == "/db/backup" ? Reply(200, big) : Reply(503, "leader not found\n");
  });
  auto client = MustCreate(OptionsFor(server.address()));
  std::string path = ::testing::TempDir() + "/client_backup_test.db";
  std::remove(path.c_str());
  uint64_t last_done = 0;
  Request backup = RequestFor("db/backup");
  backup.response_file = path;
  backup.progress = [&](uint64_t done, uint64_t) { last_done = done; };
  Result<Response> ok = client->Send(backup);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->body.empty());
  EXPECT_EQ(ok->body_bytes, big.size());
  EXPECT_EQ(last_done, big.size());
  EXPECT_EQ(ReadFile(path), big);

  std::string other = ::testing::TempDir() + "/client_backup_test_2.db";
  std::remove(other.c_str());
  Request refused_request = RequestFor("nope");
  refused_request.response_file = other;
  Result<Response> refused = client->Send(refused_request);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->StatusLine(), "503 Service Unavailable");
  EXPECT_EQ(refused->body, "leader not found\n");
  EXPECT_FALSE(std::ifstream(other).good());
}

TEST(HttpClientTest, RequestBodyStreamsFromFile) {
  TestServer server([](const HttpRequest& request) { return Reply(200, std::to_string(request.body().size())); });
  std::string path = ::testing::TempDir() + "/client_load_test.sql";
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "INSERT INTO t VALUES(" + std::to_string(i) + ");\n";
  std::ofstream(path, std::ios::binary) << content;
  auto client = MustCreate(OptionsFor(server.address()));
  uint64_t last_total = 0;
  Request load = RequestFor("db/load", Method::kPost);
  load.body_file = path;
  load.progress = [&](uint64_t, uint64_t total) { last_total = total; };
  Result<Response> response = client->Send(load);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, std::to_string(content.size()));
  EXPECT_EQ(server.requests()[0].body(), content);
  EXPECT_EQ(last_total, content.size());
}

TEST(HttpClientTest, BadOptionsAreRejected) {
  ClientOptions ftp = OptionsFor("h:1");
  ftp.scheme = "ftp";
  EXPECT_FALSE(HttpClient::Create(ftp).ok());
  EXPECT_FALSE(HttpClient::Create(ClientOptions{}).ok());
  ClientOptions bad_auth = OptionsFor("h:1");
  bad_auth.basic_auth = "nocolon";
  EXPECT_FALSE(HttpClient::Create(bad_auth).ok());
  ClientOptions bad_ca = OptionsFor("h:1");
  bad_ca.scheme = "https";
  bad_ca.ca_cert_path = "/nonexistent.pem";
  EXPECT_FALSE(HttpClient::Create(bad_ca).ok());
}

TEST(HttpClientTest, PrefixAndAddressHelpers) {
  EXPECT_EQ(NormalizePrefix(""), "/");
  EXPECT_EQ(NormalizePrefix("rq"), "/rq/");
  EXPECT_EQ(NormalizePrefix("/rq/"), "/rq/");
  EXPECT_EQ(SplitHostPort("[::1]:4001", "http")->host, "::1");
  EXPECT_EQ(SplitHostPort("db", "https")->port, "443");
  EXPECT_EQ(SplitHostPort("db:4001", "http")->port, "4001");
}

// A self-signed certificate for 127.0.0.1, written as PEM files.
struct TestCertificate {
  // Per process: ctest runs the TLS tests side by side, and one rewriting
  // the file another's server had just loaded failed the handshake.
  std::string stem = ::testing::TempDir() + "/client_test_" + std::to_string(::getpid());
  std::string cert_path = stem + "_cert.pem";
  std::string key_path = stem + "_key.pem";

  TestCertificate() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    FILE* cert_file = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(cert_file, cert);
    std::fclose(cert_file);
    FILE* key_file = std::fopen(key_path.c_str(), "w");
    PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(key_file);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~TestCertificate() {
    std::remove(cert_path.c_str());
    std::remove(key_path.c_str());
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  HttpsClientTest() {
    tls.use_certificate_chain_file(certificate.cert_path);
    tls.use_private_key_file(certificate.key_path, ssl::context::pem);
  }
  TestCertificate certificate;
  ssl::context tls{ssl::context::tls_server};
  TestServer server{[](const HttpRequest&) { return Reply(200, "secure"); }, &tls};
};

TEST_F(HttpsClientTest, TrustedCaCertificateVerifies) {
  ClientOptions options = OptionsFor(server.address());
  options.scheme = "https";
  options.ca_cert_path = certificate.cert_path;
  auto client = MustCreate(options);
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "secure");
}

TEST_F(HttpsClientTest, UntrustedCertificateIsRefused) {
  ClientOptions options = OptionsFor(server.address());
  options.scheme = "https";
  auto client = MustCreate(options);
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("TLS handshake"), std::string::npos) << response.status().ToString();
}

TEST_F(HttpsClientTest, InsecureSkipsVerification) {
  ClientOptions options = OptionsFor(server.address());
  options.scheme = "https";
  options.insecure = true;
  auto client = MustCreate(options);
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "secure");
}

// The server trusts only clients presenting the (self-signed) test
// certificate: mutual TLS, as rqlited with -http-verify-client.
class MutualTlsClientTest : public ::testing::Test {
 protected:
  MutualTlsClientTest() {
    tls.use_certificate_chain_file(certificate.cert_path);
    tls.use_private_key_file(certificate.key_path, ssl::context::pem);
    tls.load_verify_file(certificate.cert_path);
    tls.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  ClientOptions Options() {
    ClientOptions options = OptionsFor(server.address());
    options.scheme = "https";
    options.ca_cert_path = certificate.cert_path;
    return options;
  }
  TestCertificate certificate;
  ssl::context tls{ssl::context::tls_server};
  TestServer server{[](const HttpRequest&) { return Reply(200, "mutual"); }, &tls};
};

TEST_F(MutualTlsClientTest, ClientCertificateAndKeyArePresented) {
  ClientOptions options = Options();
  options.client_cert_path = certificate.cert_path;
  options.client_key_path = certificate.key_path;
  auto client = MustCreate(options);
  Result<Response> response = client->Send(RequestFor("status"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "mutual");
}

TEST_F(MutualTlsClientTest, MissingClientCertificateIsRefused) {
  auto client = MustCreate(Options());
  EXPECT_FALSE(client->Send(RequestFor("status")).ok());
}

}  // namespace
}  // namespace rq::client
