// Node-to-node TLS: transports and the RPC client with certificates made by
// the openssl CLI in a temp directory (a CA, a second "wrong" CA, node and
// client certificates with chosen CNs and SANs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cluster/client.h"
#include "cluster/test_util.h"
#include "cluster/transport.h"

namespace rq::cluster {
namespace {
using namespace std::chrono_literals;
using testing::RecordingReceiver;
using testing::WaitFor;
namespace fs = std::filesystem;

// Runs `command` in the cert directory; the test fails if it fails.
void Sh(const fs::path& dir, const std::string& command) {
  std::string line = "cd '" + dir.string() + "' && " + command + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(line.c_str()), 0) << command;
}

// Certificates for one test: ca.pem signs node-*.pem; other-ca.pem signs
// rogue.pem. Every leaf has SAN DNS:localhost, IP:127.0.0.1.
class Certs {
 public:
  Certs() {
    dir_ = fs::temp_directory_path() / ("rq-tls-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    MakeCa("ca");
    MakeCa("other-ca");
    MakeLeaf("node-a", "node-a", "ca");
    MakeLeaf("node-b", "node-b", "ca");
    MakeLeaf("rogue", "node-a", "other-ca");
  }
  ~Certs() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  // TLS options presenting `leaf` and trusting `ca`.
  TlsOptions Options(const std::string& leaf, const std::string& ca = "ca") const {
    TlsOptions options;
    options.cert_file = Path(leaf + ".pem");
    options.key_file = Path(leaf + ".key");
    options.ca_file = Path(ca + ".pem");
    return options;
  }
  void MakeLeaf(const std::string& name, const std::string& cn, const std::string& ca) {
    Sh(dir_, "openssl req -newkey rsa:2048 -nodes -keyout " + name + ".key -subj /CN=" + cn + " -out " + name +
                 ".csr");
    Sh(dir_, "openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
                 ".key -CAcreateserial -days 2 -extfile san.ext -out " + name + ".pem");
  }

 private:
  void MakeCa(const std::string& name) {
    Sh(dir_, "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + name + ".key -subj /CN=" + name +
                 " -days 2 -out " + name + ".pem");
  }
  static inline int next_ = 0;
  fs::path dir_;
};

class MetaHandler : public RpcHandler {
 public:
  void Join(const JoinRequest&, std::function<void(JoinResponse)> done) override { done({Status::OK(), ""}); }
  void Remove(const RemoveRequest&, std::function<void(RemoveResponse)> done) override { done({Status::OK(), ""}); }
  void GetNodeMeta(const NodeMetaRequest&, std::function<void(NodeMetaResponse)> done) override {
    done(NodeMetaResponse{Status::OK(), "http://127.0.0.1:4001", "v-tls", 77});
  }
  void Forward(const ForwardRequest&, std::function<void(ForwardResponse)> done) override { done({}); }
  void StepDown(const StepDownRequest&, std::function<void(StepDownResponse)> done) override {
    done({Status::OK(), ""});
  }
};

struct Node {
  Node(const std::string& id, TlsOptions tls, uint64_t snapshot_bytes = 0, bool compress = false)
      : source(snapshot_bytes) {
    Transport::Config config;
    config.node_id = NodeId(id);
    config.tls = std::move(tls);
    config.compress_snapshots = compress;
    config.backoff_initial = 10ms;
    config.backoff_max = 100ms;
    config.connect_timeout = 2s;
    config.hello_timeout = 2s;
    config.snapshot_chunk_bytes = 256 << 10;
    config.on_snapshot_done = [this](const NodeId&, bool ok) {
      std::lock_guard lock(mutex);
      snapshot_results.push_back(ok);
    };
    transport = std::make_unique<Transport>(config, &receiver, &handler, &source);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(transport->port()); }
  std::vector<bool> SnapshotResults() {
    std::lock_guard lock(mutex);
    return snapshot_results;
  }

  RecordingReceiver receiver;
  MetaHandler handler;
  testing::FakeSnapshotSource source;
  std::mutex mutex;
  std::vector<bool> snapshot_results;
  std::unique_ptr<Transport> transport;
};

raft::Message Heartbeat(const char* from, const char* to) {
  return raft::Message{NodeId(from), NodeId(to), Term(2), raft::AppendRequest{LogIndex(1), Term(1), {}, LogIndex(1), 0}};
}

raft::Message Snapshot(const char* from, const char* to) {
  raft::SnapshotMeta meta{LogIndex(500), Term(3), {{NodeId("a"), NodeId("b")}, {}}};
  return raft::Message{NodeId(from), NodeId(to), Term(3), raft::InstallSnapshotRequest{meta}};
}

void Peer(Node& from, const char* to_id, const Node& to) { from.transport->SetPeers({{NodeId(to_id), to.address()}}); }

Result<NodeMetaResponse> Meta(const TlsOptions& tls, const std::string& address) {
  Client::Config config;
  config.node_id = NodeId("c");
  config.tls = tls;
  config.connect_timeout = 2s;
  Client client(config);
  return client.GetNodeMeta(address, {}, 3s);
}

TEST(TlsTest, TlsClusterExchangesRaftMessagesRpcsAndASnapshot) {
  Certs certs;
  TlsOptions a_tls = certs.Options("node-a");
  a_tls.verify_client = true;  // mTLS both ways
  TlsOptions b_tls = certs.Options("node-b");
  b_tls.verify_client = true;
  const uint64_t kBytes = (3 << 20) + 777;
  Node a("a", a_tls, kBytes);
  Node b("b", b_tls);
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Peer(a, "b", b);
  Peer(b, "a", a);
  a.transport->Send({Heartbeat("a", "b")});
  b.transport->Send({Heartbeat("b", "a")});
  ASSERT_TRUE(WaitFor([&] { return a.receiver.message_count() == 1 && b.receiver.message_count() == 1; }));
  EXPECT_EQ(b.receiver.messages()[0], Heartbeat("a", "b"));

  auto meta = Meta(certs.Options("node-a"), b.address());
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->commit_index, 77u);

  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_TRUE(a.SnapshotResults()[0]);
  auto sinks = b.receiver.sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].bytes, kBytes);
  EXPECT_EQ(sinks[0].crc, a.source.ExpectedCrc());
  EXPECT_TRUE(sinks[0].content_ok);
  EXPECT_TRUE(sinks[0].finished);
}

TEST(TlsTest, ServerWithACertificateFromAnotherCaIsRefused) {
  Certs certs;
  Node server("b", certs.Options("rogue", "other-ca"));
  ASSERT_TRUE(server.transport->Start().ok());
  auto meta = Meta(certs.Options("node-a"), server.address());
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("TLS handshake"), std::string::npos) << meta.status().ToString();
}

TEST(TlsTest, NoVerifyAcceptsAServerFromAnotherCa) {
  Certs certs;
  Node server("b", certs.Options("rogue", "other-ca"));
  ASSERT_TRUE(server.transport->Start().ok());
  TlsOptions tls = certs.Options("node-a");
  tls.no_verify = true;
  EXPECT_TRUE(Meta(tls, server.address()).ok());
}

TEST(TlsTest, ServerNameOverridesTheDialedHost) {
  Certs certs;
  Node server("b", certs.Options("node-b"));
  ASSERT_TRUE(server.transport->Start().ok());
  TlsOptions tls = certs.Options("node-a");
  tls.server_name = "localhost";  // in the SAN: accepted
  EXPECT_TRUE(Meta(tls, server.address()).ok());
  tls.server_name = "db.example.com";  // not in the SAN: refused
  EXPECT_FALSE(Meta(tls, server.address()).ok());
}

TEST(TlsTest, MutualTlsRefusesAClientCertificateFromAnotherCa) {
  Certs certs;
  TlsOptions server_tls = certs.Options("node-b");
  server_tls.verify_client = true;
  Node server("b", server_tls);
  ASSERT_TRUE(server.transport->Start().ok());

  // Presents a certificate the server's CA did not sign.
  TlsOptions rogue = certs.Options("rogue", "ca");
  EXPECT_FALSE(Meta(rogue, server.address()).ok());
  EXPECT_TRUE(Meta(certs.Options("node-a"), server.address()).ok());
}

TEST(TlsTest, MutualTlsRefusesAPlainClient) {
  Certs certs;
  TlsOptions server_tls = certs.Options("node-b");
  server_tls.verify_client = true;
  Node server("b", server_tls);
  ASSERT_TRUE(server.transport->Start().ok());
  auto meta = Meta(TlsOptions{}, server.address());
  ASSERT_FALSE(meta.ok());
}

TEST(TlsTest, RequiredCommonNamePinsIncomingClientCertificates) {
  Certs certs;
  TlsOptions server_tls = certs.Options("node-b");
  server_tls.verify_client = true;
  server_tls.common_name = "node-a";
  Node server("b", server_tls);
  ASSERT_TRUE(server.transport->Start().ok());
  EXPECT_TRUE(Meta(certs.Options("node-a"), server.address()).ok());
  auto wrong = Meta(certs.Options("node-b"), server.address());  // CN node-b, same CA
  EXPECT_FALSE(wrong.ok());
}

TEST(TlsTest, PlainClientOfATlsServerFailsAndTlsClientOfAPlainServerFails) {
  Certs certs;
  Node tls_server("b", certs.Options("node-b"));
  Node plain_server("c", TlsOptions{});
  ASSERT_TRUE(tls_server.transport->Start().ok());
  ASSERT_TRUE(plain_server.transport->Start().ok());
  auto plain = Meta(TlsOptions{}, tls_server.address());
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("-node-cert"), std::string::npos) << plain.status().ToString();
  auto meta = Meta(certs.Options("node-a"), plain_server.address());
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("TLS"), std::string::npos) << meta.status().ToString();
}

TEST(TlsTest, StartFailsOnAMissingCertificate) {
  Certs certs;
  TlsOptions tls = certs.Options("node-a");
  tls.cert_file = certs.Path("absent.pem");
  Node node("a", tls);
  Status started = node.transport->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("absent.pem"), std::string::npos) << started.ToString();
}

TEST(TlsTest, ServerPicksUpARenewedCertificateOnTheNextConnection) {
  Certs certs;
  TlsOptions server_tls = certs.Options("node-b");
  Node server("b", server_tls);
  ASSERT_TRUE(server.transport->Start().ok());
  TlsOptions pinned = certs.Options("node-a");
  pinned.server_name = "renewed";  // the first certificate lacks this name
  EXPECT_FALSE(Meta(pinned, server.address()).ok());
  // Replace node-b's certificate with one whose SAN names "renewed".
  std::ofstream(certs.Path("san.ext")) << "subjectAltName=DNS:renewed\n";
  std::this_thread::sleep_for(20ms);  // a distinct mtime
  certs.MakeLeaf("node-b", "node-b", "ca");
  EXPECT_TRUE(Meta(pinned, server.address()).ok());
}

TEST(TlsTest, CompressedSnapshotIsReceivedIntactOverTls) {
  Certs certs;
  const uint64_t kBytes = (2 << 20) + 5;
  Node a("a", certs.Options("node-a"), kBytes, /*compress=*/true);
  Node b("b", certs.Options("node-b"));
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Peer(a, "b", b);
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_TRUE(a.SnapshotResults()[0]);
  auto sinks = b.receiver.sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].bytes, kBytes);
  EXPECT_EQ(sinks[0].crc, a.source.ExpectedCrc());
  EXPECT_TRUE(sinks[0].content_ok);
}

}  // namespace
}  // namespace rq::cluster
