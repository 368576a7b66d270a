// Server tests over real sockets on 127.0.0.1 with a fake Backend. The client
// is plain POSIX sockets (no Beast) so malformed, short and half-sent
// requests can be written byte by byte.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "http/fake_backend_test_util.h"
#include "http/header_parser.h"

namespace rq::http {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
  std::string Header(const std::string& name) const {
    // Header names are case-insensitive.
    const auto lower = [](std::string text) {
      for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return text;
    };
    const size_t at = lower(head).find("\r\n" + lower(name) + ": ");
    if (at == std::string::npos) return "<none>";
    const size_t start = at + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~Client() { Close(); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads one response (Content-Length framed, or until close).
  std::optional<Reply> Read() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Reply reply;
    const size_t end = buffer_.find("\r\n\r\n");
    reply.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    reply.status = std::stoi(reply.head.substr(9, 3));
    const std::string length = reply.Header("Content-Length");
    if (reply.status < 200 || reply.status == 204) return reply;  // never a body
    if (length == "<none>") {
      while (Fill()) {
      }
      reply.body = std::move(buffer_);
      buffer_.clear();
      return reply;
    }
    const size_t size = std::stoul(length);
    while (buffer_.size() < size) {
      if (!Fill()) return std::nullopt;
    }
    reply.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return reply;
  }
  // True when the server closed the connection without answering.
  bool ClosedWithoutReply() { return !Fill() && buffer_.empty(); }
  std::optional<Reply> Exchange(std::string_view request) {
    if (!Send(request)) return std::nullopt;
    return Read();
  }

 private:
  bool Fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string Post(const std::string& target, const std::string& body, const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra + "\r\n" + body;
}

std::string Get(const std::string& target) { return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"; }

class ServerTest : public ::testing::Test {
 protected:
  void StartServer() {
    config_.address = "127.0.0.1";
    config_.port = 0;
    config_.version = "v10.2.7";
    server_ = std::make_unique<Server>(config_, &backend_);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  // The backend is told nothing until a request is whole; give the server
  // time to (not) act before checking.
  void Settle() { std::this_thread::sleep_for(200ms); }

  Config config_;
  FakeBackend backend_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  Client client(server_->port());
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 3; i++) {
    auto reply = client.Exchange(Post("/db/execute", R"j(["INSERT INTO t VALUES(1)"])j"));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, R"({"results":[]})");
    EXPECT_EQ(reply->Header("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(reply->Header("X-Rqlite-Version"), "v10.2.7");
    EXPECT_EQ(reply->Header("X-Rqlite-Served-By"), "localhost:4001");
    EXPECT_NE(reply->head.find("\r\nX-Rqlite-Version: v10.2.7\r\n"), std::string::npos);  // Go's canonical form
  }
  EXPECT_EQ(backend_.CallCount(), 3u);
}

TEST_F(ServerTest, BindingAPortInUseIsAClearError) {
  StartServer();
  Config second = config_;
  second.port = server_->port();
  Server other(second, &backend_);
  Status status = other.Start();
  EXPECT_TRUE(status.IsIOError());
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos);
  EXPECT_NE(status.message().find("in use"), std::string::npos) << status.message();
}

TEST_F(ServerTest, CompletionsFromBackendThreadsAreDelivered) {
  backend_.complete_on_thread = true;
  StartServer();
  Client client(server_->port());
  for (int i = 0; i < 5; i++) {
    auto reply = client.Exchange(Post("/db/query", R"(["SELECT 1"])"));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 200);
  }
}

TEST_F(ServerTest, ABlockingCallDoesNotHoldAnIoThread) {
  // One I/O thread: if /nodes (whose backend call waits on the peers) ran
  // on it, /status on another connection would wait too.
  config_.threads = 1;
  std::promise<void> release;
  backend_.hold_nodes = release.get_future().share();
  StartServer();
  auto nodes = std::async(std::launch::async, [this] {
    Client client(server_->port());
    return client.Exchange(Get("/nodes"));
  });
  Settle();  // /nodes is now waiting inside the backend
  Client other(server_->port());
  auto status = std::async(std::launch::async, [&other] { return other.Exchange(Get("/status")); });
  const bool answered = status.wait_for(5s) == std::future_status::ready;
  release.set_value();
  ASSERT_TRUE(answered) << "/status waited for a blocked /nodes";
  ASSERT_TRUE(status.get().has_value());
  auto nodes_reply = nodes.get();
  ASSERT_TRUE(nodes_reply.has_value());
  EXPECT_EQ(nodes_reply->status, 200);
}

TEST_F(ServerTest, OversizedBodyIsRefusedWith400AndServerKeepsServing) {
  config_.max_body_bytes = 1024;
  StartServer();
  {
    Client client(server_->port());
    auto reply = client.Exchange(Post("/db/execute", "[\"" + std::string(2048, 'x') + "\"]"));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 400);
    EXPECT_NE(reply->body.find("too large"), std::string::npos);
    EXPECT_EQ(reply->body.back(), '\n');
  }
  {
    Client client(server_->port());
    const std::string chunked = "POST /db/execute HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                                std::string(2048, 'x') + "\r\n0\r\n\r\n";
    auto reply = client.Exchange(chunked);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 400);
  }
  EXPECT_EQ(backend_.CallCount(), 0u);
  Client client(server_->port());
  auto reply = client.Exchange(Post("/db/execute", R"(["SELECT 1"])"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
}

TEST_F(ServerTest, ClientDisconnectingMidBodyNeverReachesBackend) {
  StartServer();
  {
    Client client(server_->port());
    ASSERT_TRUE(client.Send("POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[\"INSERT"));
    client.Close();
  }
  Settle();
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(ServerTest, ShortContentLengthIsNeverExecuted) {
  StartServer();
  Client client(server_->port());
  const std::string body = R"j(["INSERT INTO t VALUES(1)"])j";
  ASSERT_TRUE(client.Send("POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(body.size() + 10) + "\r\n\r\n" + body));
  client.ShutdownWrite();
  EXPECT_TRUE(client.ClosedWithoutReply());
  Settle();
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(ServerTest, UnterminatedChunkedBodyIsNeverExecuted) {
  StartServer();
  Client client(server_->port());
  ASSERT_TRUE(client.Send("POST /db/execute HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "1b\r\n[\"INSERT INTO t VALUES(1)\"]\r\n"));
  client.ShutdownWrite();
  EXPECT_TRUE(client.ClosedWithoutReply());
  Settle();
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(ServerTest, MalformedRequestGets400) {
  StartServer();
  Client client(server_->port());
  auto reply = client.Exchange("GARBAGE\r\n\r\n");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 400);
}

TEST_F(ServerTest, RedirectGives301WithLeaderLocation) {
  backend_.data_result = Status::NotLeader("not leader");
  backend_.leader_url = "http://leader:4001";
  StartServer();
  Client client(server_->port());
  auto reply = client.Exchange(Post("/db/execute?redirect", R"(["X"])"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 301);
  EXPECT_EQ(reply->Header("Location"), "http://leader:4001/db/execute?redirect");
}

TEST_F(ServerTest, BootBodyStreamsToFileBeyondTheBodyLimit) {
  config_.max_body_bytes = 1024;
  StartServer();
  std::string image = "SQLite format 3";
  image.push_back('\0');
  while (image.size() < 3 * 1024 * 1024) image += std::to_string(image.size());
  Client client(server_->port());
  // Chunked, as curl -T sends it, with Expect: 100-continue.
  std::string request = "POST /boot HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_TRUE(client.Send(request));
  auto interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  for (size_t at = 0; at < image.size(); at += 100000) {
    const std::string piece = image.substr(at, 100000);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    ASSERT_TRUE(client.Send(size + piece + "\r\n"));
  }
  auto reply = client.Exchange("0\r\n\r\n");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  std::lock_guard lock(backend_.mu);
  EXPECT_EQ(backend_.boot_contents.size(), image.size());
  EXPECT_TRUE(backend_.boot_contents == image);
}

TEST_F(ServerTest, RefusedBootIsNeverStored) {
  StartServer();
  Client client(server_->port());
  auto reply = client.Exchange(Post("/boot?timeout=x", "SQLite format 3"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(ServerTest, BackupFileIsStreamedAndDeleted) {
  backend_.backup_contents = std::string(200000, 'b');
  StartServer();
  Client client(server_->port());
  auto reply = client.Exchange(Get("/db/backup"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(reply->body, backend_.backup_contents);
}

TEST_F(ServerTest, OptionsAndCorsHeaders) {
  config_.allow_origin = "*";
  StartServer();
  Client client(server_->port());
  auto reply = client.Exchange("OPTIONS /db/query HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "");
  EXPECT_EQ(reply->Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(reply->Header("Access-Control-Allow-Methods"), "OPTIONS, GET, POST");
}

TEST_F(ServerTest, PrettyJsonAndStatusCodesOverTheWire) {
  StartServer();
  Client client(server_->port());
  auto pretty = client.Exchange(Post("/db/execute?pretty", R"(["X"])"));
  ASSERT_TRUE(pretty.has_value());
  EXPECT_EQ(pretty->body, "{\n    \"results\": []\n}");
  auto missing = client.Exchange(Get("/nothing"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "");
  auto method = client.Exchange(Get("/db/execute"));
  ASSERT_TRUE(method.has_value());
  EXPECT_EQ(method->status, 405);
  auto root = client.Exchange(Get("/"));
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->status, 302);
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnectionsPromptly) {
  StartServer();
  Client client(server_->port());
  ASSERT_TRUE(client.Exchange(Get("/status")).has_value());
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(client.ClosedWithoutReply());
}


TEST_F(ServerTest, AuthFileGuardsEndpointsAndAnnouncesRealm) {
  const std::string path = (std::filesystem::temp_directory_path() / "rq-http-auth-test.json").string();
  std::ofstream(path) << R"([{"username":"u","password":"p","perms":["query"]}])";
  config_.port = 0;
  config_.address = "127.0.0.1";
  server_ = std::make_unique<Server>(config_, &backend_);
  ASSERT_TRUE(server_->LoadAuthFile(path).ok());
  ASSERT_TRUE(server_->Start().ok());
  std::filesystem::remove(path);
  Client client(server_->port());
  auto refused = client.Exchange(Post("/db/query", R"(["SELECT 1"])"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->body, "");
  EXPECT_EQ(refused->Header("WWW-Authenticate"), "Basic realm=\"rqlite\"");
  // A refusal sent before the body was read closes the connection.
  EXPECT_NE(refused->head.find("Connection: close"), std::string::npos);
  Client second(server_->port());
  auto allowed = second.Exchange(Post("/db/query", R"(["SELECT 1"])", "Authorization: Basic dTpw\r\n"));
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(backend_.CallCount(), 1u);
}

TEST_F(ServerTest, SlowBodyWithProgressOutlivesTheReadTimeout) {
  config_.read_timeout = 1s;
  StartServer();
  Client client(server_->port());
  const std::string body = R"(["SELECT 1", "SELECT 2", "SELECT 3"])";
  ASSERT_TRUE(client.Send("POST /db/query HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n"));
  for (size_t at = 0; at < body.size(); at += 8) {
    std::this_thread::sleep_for(300ms);  // 5 pieces: longer than read_timeout in total
    ASSERT_TRUE(client.Send(body.substr(at, 8)));
  }
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(backend_.CallCount(), 1u);
}

TEST_F(ServerTest, SilentClientIsDisconnectedAfterTheReadTimeout) {
  config_.read_timeout = 1s;
  StartServer();
  Client client(server_->port());
  ASSERT_TRUE(client.Send("POST /db/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n[\"INSERT"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ClosedWithoutReply());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_EQ(backend_.CallCount(), 0u);
}

// Not a benchmark gate: it checks that a burst of keep-alive requests is all
// answered, and prints the rate so regressions are visible in test logs.
TEST_F(ServerTest, BurstOfKeepAliveRequestsIsAllAnswered) {
  StartServer();
  Client client(server_->port());
  constexpr int kRequests = 2000;
  const std::string request = Post("/db/query", R"(["SELECT 1"])");
  const auto start = std::chrono::steady_clock::now();
  int answered = 0;
  for (int i = 0; i < kRequests; i++) {
    auto reply = client.Exchange(request);
    if (reply && reply->status == 200) answered++;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(answered, kRequests);
  std::printf("http: %d sequential keep-alive requests in %.3f s (%.0f req/s)\n", kRequests, seconds,
              kRequests / seconds);
}

TEST_F(ServerTest, ConcurrentClientsWithBackendThreadCompletionsAreAllAnswered) {
  backend_.complete_on_thread = true;
  StartServer();
  constexpr int kClients = 8;
  constexpr int kRequestsEach = 50;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; c++) {
    clients.emplace_back([&] {
      Client client(server_->port());
      for (int i = 0; i < kRequestsEach; i++) {
        auto reply = client.Exchange(Post("/db/request", R"(["SELECT 1"])"));
        if (reply && reply->status == 200 && reply->body == R"({"results":[]})") answered++;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(answered.load(), kClients * kRequestsEach);
  EXPECT_EQ(backend_.CallCount(), static_cast<size_t>(kClients * kRequestsEach));
}

// HTTPS: a self-signed pair made by the openssl tool; skipped without it.
class TlsServerTest : public ServerTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("rq-http-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    if (!MakeCert("a")) GTEST_SKIP() << "openssl tool not available";
    config_.cert_file = (dir_ / "a.crt").string();
    config_.key_file = (dir_ / "a.key").string();
  }
  void TearDown() override {
    ServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  bool MakeCert(const std::string& name) {
    const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + name + " -keyout " +
                                (dir_ / (name + ".key")).string() + " -out " + (dir_ / (name + ".crt")).string() +
                                " >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
  }
  // One HTTPS exchange; returns the reply and the server certificate's CN.
  std::pair<std::string, std::string> HttpsGet(const std::string& target, const std::string& client_cert = "") {
    Client tcp(server_->port());
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    if (!client_cert.empty()) {
      SSL_CTX_use_certificate_file(context, (dir_ / (client_cert + ".crt")).c_str(), SSL_FILETYPE_PEM);
      SSL_CTX_use_PrivateKey_file(context, (dir_ / (client_cert + ".key")).c_str(), SSL_FILETYPE_PEM);
    }
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, tcp.fd());
    std::string reply;
    std::string common_name;
    if (SSL_connect(ssl) == 1) {
      X509* peer = SSL_get1_peer_certificate(ssl);
      char name[256] = {};
      if (peer) X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name));
      common_name = name;
      X509_free(peer);
      const std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, request.data(), static_cast<int>(request.size()));
      char buffer[4096];
      int n = 0;
      while ((n = SSL_read(ssl, buffer, sizeof(buffer))) > 0) reply.append(buffer, static_cast<size_t>(n));
    }
    SSL_free(ssl);
    SSL_CTX_free(context);
    return {reply, common_name};
  }
  std::filesystem::path dir_;
};

TEST_F(TlsServerTest, ServesHttpsAndRefusesPlainHttp) {
  StartServer();
  auto [reply, common_name] = HttpsGet("/status");
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(common_name, "a");
  Client plain(server_->port());
  auto answer = plain.Exchange(Get("/status"));
  EXPECT_FALSE(answer.has_value() && answer->status == 200);
}

TEST_F(TlsServerTest, CertificateIsReloadedWhenItsFilesChange) {
  StartServer();
  EXPECT_EQ(HttpsGet("/status").second, "a");
  ASSERT_TRUE(MakeCert("b"));
  std::filesystem::rename(dir_ / "b.crt", dir_ / "a.crt");
  std::filesystem::rename(dir_ / "b.key", dir_ / "a.key");
  // mtime granularity: make sure the new files look newer.
  const auto later = std::filesystem::file_time_type::clock::now() + 2s;
  std::filesystem::last_write_time(dir_ / "a.crt", later);
  std::filesystem::last_write_time(dir_ / "a.key", later);
  EXPECT_EQ(HttpsGet("/status").second, "b");
}

TEST_F(TlsServerTest, VerifyClientRefusesClientsWithoutCertificate) {
  ASSERT_TRUE(MakeCert("client"));
  config_.ca_file = (dir_ / "client.crt").string();
  config_.verify_client = true;
  StartServer();
  EXPECT_EQ(HttpsGet("/status").first, "");
  EXPECT_EQ(HttpsGet("/status", "client").first.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(TlsServerTest, VerifyCommonNameAdmitsOnlyThatClient) {
  ASSERT_TRUE(MakeCert("alice"));
  ASSERT_TRUE(MakeCert("mallory"));
  // One CA file trusting both self-signed clients: only the CN tells them apart.
  {
    std::ofstream ca(dir_ / "clients.pem");
    for (const char* name : {"alice.crt", "mallory.crt"}) {
      std::ifstream in(dir_ / name);
      ca << in.rdbuf();
    }
  }
  config_.ca_file = (dir_ / "clients.pem").string();
  config_.verify_client = true;
  config_.verify_common_name = "alice";
  StartServer();
  EXPECT_EQ(HttpsGet("/status", "alice").first.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(HttpsGet("/status", "mallory").first, "");
  EXPECT_EQ(HttpsGet("/status").first, "");
}

}  // namespace
}  // namespace rq::http

namespace rq::http {
namespace {

// The gtest twin of the libFuzzer target http_wire_fuzz: mutated requests
// through the server's head parser and the handler (FuzzHttpWire aborts on
// a broken rule).
TEST(WireFuzzTest, MutatedRequestsNeverCrash) {
  std::mt19937_64 random(20261206);
  const std::vector<std::string> seeds = {
      "POST /db/execute?pretty&timings&timeout=2s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 44\r\n\r\n[\"INSERT INTO t VALUES(?)\", [\"SELECT ?\", 1]]",
      "GET /db/query?q=SELECT%20*%20FROM%20t&level=none&freshness=1s HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n",
      "POST /db/request?transaction&db_timeout=10ms HTTP/1.1\r\nContent-Length: 12\r\n\r\n[\"SELECT 1\"]",
      "POST /db/load HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\nCREATE TABLE t(a);",
      "DELETE /remove HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"id\": \"\"}",
      "GET /status?pretty HTTP/1.1\r\n\r\n", "GET /nodes?nonvoters&timeout=-1s HTTP/1.1\r\n\r\n",
      "POST /leader HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"id\": \"2\"}", "GET /readyz?noleader HTTP/1.1\r\n\r\n",
      "GET /db/backup?fmt=sql&compress HTTP/1.1\r\n\r\n",
      "POST /db/execute HTTP/1.1\r\nX-Long: " + std::string(70000, 'v') + "\r\n\r\n"};
  for (int i = 0; i < 3000; i++) {
    std::string input = seeds[static_cast<size_t>(i) % seeds.size()];
    const int mutations = static_cast<int>(random() % 6);
    for (int m = 0; m < mutations && !input.empty(); m++) {
      const size_t at = random() % input.size();
      switch (random() % 3) {
        case 0: input[at] = static_cast<char>(random()); break;
        case 1: input.erase(at, 1 + random() % 4); break;
        default: input.insert(at, 1, static_cast<char>(random())); break;
      }
    }
    FuzzHttpWire(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace rq::http
