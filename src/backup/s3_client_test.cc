// S3Client against a real S3-compatible server (s3rver from npm, started by
// the test on 127.0.0.1 and a free port, killed by PID), and against a tiny
// local stub for retries on 503 and for cross-checking every signature with
// botocore (s3rver checks the access key id but not V4 signatures).
#include "backup/s3_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

#include "backup/codec.h"
#include "backup/test_http_server.h"

extern char** environ;

namespace rq::backup {
namespace {

constexpr const char* kS3rver = "/usr/local/lib/rqlite-cpp-tests/node_modules/.bin/s3rver";
constexpr const char* kBucket = "rqlite-test";

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string WriteRandomFile(const std::string& path, size_t bytes, unsigned seed) {
  std::mt19937 random(seed);
  std::string data(bytes, '\0');
  for (char& c : data) c = static_cast<char>(random() & 0xff);
  std::ofstream(path, std::ios::binary) << data;
  return data;
}

// One s3rver for the suite.
class S3rverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kS3rver, X_OK) != 0) return;
    dir_ = ::testing::TempDir() + "/s3rver-" + std::to_string(::getpid());
    std::string mkdir = "mkdir -p " + dir_;
    if (std::system(mkdir.c_str()) != 0) return;
    port_ = FreePort();
    std::string port = std::to_string(port_);
    std::vector<std::string> args = {kS3rver, "-d", dir_, "-a", "127.0.0.1", "-p", port, "-s", "--configure-bucket", kBucket};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kS3rver, nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = 0;
      return;
    }
    for (int i = 0; i < 200 && !CanConnect(port_); ++i) ::usleep(50 * 1000);
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }

  void SetUp() override {
    if (::access(kS3rver, X_OK) != 0) GTEST_SKIP() << "s3rver not installed at " << kS3rver
                                                   << " (scripts/install-deps.sh --tests installs it)";
    ASSERT_GT(pid_, 0) << "could not start " << kS3rver;
    ASSERT_TRUE(CanConnect(port_)) << "s3rver did not listen on " << port_;
    work_ = ::testing::TempDir() + "/s3test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("mkdir -p " + work_).c_str()), 0);
  }

  S3Config Config(const std::string& key) const {
    S3Config c;
    c.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    c.region = "us-east-1";
    c.access_key_id = "S3RVER";
    c.secret_access_key = "S3RVER";
    c.bucket = kBucket;
    c.path = key;
    c.force_path_style = true;
    return c;
  }

  std::unique_ptr<S3Client> Client(const std::string& key, S3ClientOptions options = {}) const {
    options.retry.backoff_initial = std::chrono::milliseconds(10);
    auto client = S3Client::Create(Config(key), options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(*client);
  }

  static Deadline Soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

  static inline pid_t pid_ = 0;
  static inline int port_ = 0;
  static inline std::string dir_;
  std::string work_;
};

TEST_F(S3rverTest, PutSmallObjectStoresSumAndIdAndReadsBack) {
  std::string data = WriteRandomFile(work_ + "/small", 1000, 1);
  auto client = Client("backups/small.sqlite.gz");
  std::string sum = HexEncode(Sha256(data));
  Result<UploadResult> up = client->Upload(work_ + "/small", {sum, "42"}, std::chrono::system_clock::now());
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->object_name, "backups/small.sqlite.gz");
  EXPECT_EQ(up->bytes, 1000u);
  Result<ObjectMetadata> meta = client->CurrentMetadata();
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->sha256_hex, sum);
  EXPECT_EQ(meta->id, "42");
  ASSERT_TRUE(client->Download(work_ + "/back", Soon()).ok());
  EXPECT_EQ(ReadAll(work_ + "/back"), data);
}

TEST_F(S3rverTest, MultipartUploadAboveThreshold) {
  std::string data = WriteRandomFile(work_ + "/big", 200 * 1024 + 17, 2);
  S3ClientOptions options;
  options.multipart_threshold_bytes = 64 * 1024;
  options.part_size_bytes = 64 * 1024;  // 4 parts
  auto client = Client("big.sqlite", options);
  std::string sum = HexEncode(Sha256(data));
  Result<UploadResult> up = client->Upload(work_ + "/big", {sum, "7"}, std::chrono::system_clock::now());
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  Result<ObjectMetadata> meta = client->CurrentMetadata();
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->sha256_hex, sum);
  ASSERT_TRUE(client->Download(work_ + "/back", Soon()).ok());
  EXPECT_EQ(ReadAll(work_ + "/back"), data);
}

TEST_F(S3rverTest, UploadReplacesTheObject) {
  auto client = Client("replace.bin");
  WriteRandomFile(work_ + "/a", 300, 3);
  std::string second = WriteRandomFile(work_ + "/b", 500, 4);
  ASSERT_TRUE(client->Upload(work_ + "/a", {"aa", "1"}, std::chrono::system_clock::now()).ok());
  ASSERT_TRUE(client->Upload(work_ + "/b", {"bb", "2"}, std::chrono::system_clock::now()).ok());
  EXPECT_EQ(client->CurrentMetadata()->sha256_hex, "bb");
  ASSERT_TRUE(client->Download(work_ + "/back", Soon()).ok());
  EXPECT_EQ(ReadAll(work_ + "/back"), second);
}

TEST_F(S3rverTest, HeadOfMissingKeyIsNotFound) {
  Result<ObjectMetadata> meta = Client("no/such/key")->CurrentMetadata();
  ASSERT_FALSE(meta.ok());
  EXPECT_TRUE(meta.status().IsNotFound()) << meta.status().ToString();
}

TEST_F(S3rverTest, DownloadOfMissingKeyIsNotFound) {
  Status s = Client("missing.gz")->Download(work_ + "/x", Soon());
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("NoSuchKey"), std::string::npos) << s.ToString();
}

TEST_F(S3rverTest, TimestampedUploadIsNamedByTime) {
  S3ClientOptions options;
  options.timestamp = true;
  auto client = Client("ts/db.gz", options);
  WriteRandomFile(work_ + "/f", 100, 5);
  auto when = std::chrono::system_clock::from_time_t(1714558830);  // 2024-05-01T10:20:30Z
  Result<UploadResult> up = client->Upload(work_ + "/f", {"s", "1"}, when);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->object_name, "ts/20240501102030_db.gz");
  EXPECT_TRUE(Client("ts/20240501102030_db.gz")->CurrentMetadata().ok());
  EXPECT_TRUE(client->CurrentMetadata().status().IsNotFound());  // the plain name is never written
}

TEST_F(S3rverTest, UnknownAccessKeyIsRefusedWithoutLeakingTheSecret) {
  S3Config config = Config("k");
  config.access_key_id = "NOBODY";
  config.secret_access_key = "very-secret-value";
  auto client = S3Client::Create(config, {});
  ASSERT_TRUE(client.ok());
  WriteRandomFile(work_ + "/f", 10, 6);
  Result<UploadResult> up = (*client)->Upload(work_ + "/f", {}, std::chrono::system_clock::now());
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.status().message().find("InvalidAccessKeyId"), std::string::npos) << up.status().ToString();
  EXPECT_EQ(up.status().message().find("very-secret-value"), std::string::npos);
  EXPECT_EQ((*client)->Describe().find("very-secret-value"), std::string::npos);
}

TEST_F(S3rverTest, Boto3ReadsWhatWeWrote) {
  if (std::system("/usr/bin/python3 -c 'import boto3' 2>/dev/null") != 0) GTEST_SKIP() << "no boto3 for /usr/bin/python3";
  std::string data = WriteRandomFile(work_ + "/f", 90 * 1024, 7);
  S3ClientOptions options;
  options.multipart_threshold_bytes = 32 * 1024;
  options.part_size_bytes = 32 * 1024;
  std::string sum = HexEncode(Sha256(data));
  ASSERT_TRUE(Client("boto/db.gz", options)->Upload(work_ + "/f", {sum, "9"}, std::chrono::system_clock::now()).ok());
  std::string script = work_ + "/read.py";
  std::ofstream(script) << "import boto3, hashlib, sys\n"
                           "s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='S3RVER',\n"
                           "    aws_secret_access_key='S3RVER', region_name='us-east-1')\n"
                           "o = s3.get_object(Bucket='" << kBucket << "', Key='boto/db.gz')\n"
                           "body = o['Body'].read()\n"
                           "print(hashlib.sha256(body).hexdigest(), o['Metadata']['x-rqlite-sum'],\n"
                           "      o['Metadata']['x-rqlite-auto-backup-id'])\n";
  std::string command = "/usr/bin/python3 " + script + " http://127.0.0.1:" + std::to_string(port_) + " > " + work_ + "/out";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(ReadAll(work_ + "/out"), sum + " " + sum + " 9\n");
}

TEST(S3EndpointTest, AwsVirtualHostedAndPathStyle) {
  S3Config c;
  c.region = "eu-west-1";
  c.bucket = "bkt";
  Result<S3Endpoint> v = ResolveS3Endpoint(c);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->scheme, "https");
  EXPECT_EQ(v->host, "bkt.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(v->base_path, "");
  c.force_path_style = true;
  Result<S3Endpoint> p = ResolveS3Endpoint(c);
  EXPECT_EQ(p->host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(p->base_path, "/bkt");
}

TEST(S3EndpointTest, CustomEndpoints) {
  S3Config c;
  c.bucket = "bkt";
  c.endpoint = "minio.local:9000";
  Result<S3Endpoint> v = ResolveS3Endpoint(c);
  EXPECT_EQ(v->scheme, "https");  // no scheme: https, as rqlite
  EXPECT_EQ(v->host, "bkt.minio.local:9000");
  c.endpoint = "http://127.0.0.1:4568/";
  c.force_path_style = true;
  Result<S3Endpoint> p = ResolveS3Endpoint(c);
  EXPECT_EQ(p->scheme, "http");
  EXPECT_EQ(p->host, "127.0.0.1:4568");
  EXPECT_EQ(p->base_path, "/bkt");
  c.endpoint = "ftp://x";
  EXPECT_TRUE(ResolveS3Endpoint(c).status().IsInvalidArgument());
}

TEST(S3ClientTest, NoCredentialsAnywhereIsAnError) {
  S3Config c;
  c.bucket = "b";
  c.path = "k";
  c.region = "r";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_TRUE(S3Client::Create(c, {}).status().IsInvalidArgument());
  ::setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  EXPECT_TRUE(S3Client::Create(c, {}).ok());
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

// Stub-backed tests: an S3 stand-in on a local port.
S3Config StubConfig(const testing::TestHttpServer& server) {
  S3Config c;
  c.endpoint = server.url();
  c.region = "us-east-1";
  c.access_key_id = "AKIDSTUB";
  c.secret_access_key = "stub-secret";
  c.bucket = "bkt";
  c.path = "db.gz";
  c.force_path_style = true;
  return c;
}

S3ClientOptions FastRetries() {
  S3ClientOptions options;
  options.retry.backoff_initial = std::chrono::milliseconds(5);
  options.retry.attempts_max = 4;
  return options;
}

TEST(S3RetryTest, RetriesOn503ThenSucceeds) {
  std::atomic<int> puts{0};
  testing::TestHttpServer server([&](const testing::TestRequest& r) {
    testing::TestResponse response;
    if (r.method == "PUT" && ++puts <= 2) {
      response.status = 503;
      response.body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    }
    return response;
  });
  std::string path = ::testing::TempDir() + "/retry-body";
  WriteRandomFile(path, 2000, 8);
  auto client = S3Client::Create(StubConfig(server), FastRetries());
  ASSERT_TRUE(client.ok());
  Result<UploadResult> up = (*client)->Upload(path, {"s", "1"}, std::chrono::system_clock::now());
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(puts.load(), 3);
  EXPECT_EQ((*client)->TEST_retries(), 2);
}

TEST(S3RetryTest, GivesUpAfterAttemptsMaxWithTheLastError) {
  testing::TestHttpServer server([&](const testing::TestRequest&) {
    return testing::TestResponse{500, {}, "<Error><Code>InternalError</Code></Error>"};
  });
  auto client = S3Client::Create(StubConfig(server), FastRetries());
  Result<ObjectMetadata> meta = (*client)->CurrentMetadata();
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("HTTP 500"), std::string::npos) << meta.status().ToString();
  EXPECT_EQ(server.requests(), 4);
}

TEST(S3RetryTest, NetworkErrorsAreRetriedThenReported) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:" + std::to_string(FreePort());  // nothing listens
  c.region = "us-east-1";
  c.access_key_id = "A";
  c.secret_access_key = "B";
  c.bucket = "b";
  c.path = "k";
  c.force_path_style = true;
  auto client = S3Client::Create(c, FastRetries());
  Result<ObjectMetadata> meta = (*client)->CurrentMetadata();
  ASSERT_FALSE(meta.ok());
  EXPECT_TRUE(meta.status().IsIOError()) << meta.status().ToString();
  EXPECT_EQ((*client)->TEST_retries(), 3);
}

TEST(S3RetryTest, FailedMultipartUploadIsAborted) {
  std::mutex mu;
  std::vector<std::string> seen;
  testing::TestHttpServer server([&](const testing::TestRequest& r) {
    std::lock_guard lock(mu);
    seen.push_back(r.method + " " + r.query);
    if (r.method == "POST" && r.query == "uploads=") return testing::TestResponse{200, {}, "<UploadId>U1</UploadId>"};
    if (r.method == "PUT") return testing::TestResponse{403, {}, "<Error><Code>AccessDenied</Code></Error>"};
    return testing::TestResponse{204, {}, ""};
  });
  std::string path = ::testing::TempDir() + "/mp-body";
  WriteRandomFile(path, 3000, 9);
  S3ClientOptions options = FastRetries();
  options.multipart_threshold_bytes = 1000;
  options.part_size_bytes = 1000;
  auto client = S3Client::Create(StubConfig(server), options);
  Result<UploadResult> up = (*client)->Upload(path, {}, std::chrono::system_clock::now());
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.status().message().find("AccessDenied"), std::string::npos);
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], "PUT partNumber=1&uploadId=U1");
  EXPECT_EQ(seen[2], "DELETE uploadId=U1");
}

// Every request our client sends, signed again by botocore from the method,
// target, signed headers and body we recorded: the Authorization headers
// must be equal.
TEST(S3SignatureTest, SignaturesMatchBotocore) {
  if (std::system("/usr/bin/python3 -c 'import botocore' 2>/dev/null") != 0) GTEST_SKIP() << "no botocore";
  std::mutex mu;
  boost::json::array recorded;
  testing::TestHttpServer server([&](const testing::TestRequest& r) {
    std::lock_guard lock(mu);
    boost::json::object headers;
    for (const auto& [k, v] : r.headers) headers[k] = v;
    recorded.push_back(boost::json::object{{"method", r.method}, {"target", r.target}, {"headers", headers},
                                           {"body", HexEncode(r.body)}});
    if (r.method == "POST" && r.query == "uploads=") return testing::TestResponse{200, {}, "<UploadId>u/1+2=</UploadId>"};
    if (r.method == "PUT" && !r.query.empty()) return testing::TestResponse{200, {{"ETag", "\"e1\""}}, ""};
    return testing::TestResponse{200, {}, "<CompleteMultipartUploadResult/>"};
  });
  std::string dir = ::testing::TempDir();
  WriteRandomFile(dir + "/sig-small", 500, 10);
  WriteRandomFile(dir + "/sig-big", 2500, 11);
  S3Config config = StubConfig(server);
  config.path = "dir/with space/db$1.gz";
  S3ClientOptions options = FastRetries();
  options.multipart_threshold_bytes = 1000;
  options.part_size_bytes = 1000;
  auto client = S3Client::Create(config, options);
  ASSERT_TRUE((*client)->Upload(dir + "/sig-small", {"ab", "1"}, {}).ok());  // one PUT
  ASSERT_TRUE((*client)->Upload(dir + "/sig-big", {"cd", "2"}, {}).ok());
  ASSERT_TRUE((*client)->CurrentMetadata().ok());
  std::string requests = dir + "/sig-requests.json";
  {
    std::lock_guard lock(mu);
    std::ofstream(requests) << boost::json::serialize(recorded);
  }
  std::string script = dir + "/sig-check.py";
  std::ofstream(script) <<
      "import json, sys, datetime\n"
      "from unittest import mock\n"
      "from botocore.auth import S3SigV4Auth\n"
      "from botocore.awsrequest import AWSRequest\n"
      "from botocore.credentials import Credentials\n"
      "creds = Credentials('AKIDSTUB', 'stub-secret')\n"
      "bad = 0\n"
      "for r in json.load(open(sys.argv[1])):\n"
      "    h = r['headers']\n"
      "    signed = h['authorization'].split('SignedHeaders=')[1].split(',')[0].split(';')\n"
      "    hdrs = {k: h[k] for k in signed if k != 'x-amz-date' and k != 'x-amz-content-sha256'}\n"
      "    req = AWSRequest(method=r['method'], url='" + server.url() + "' + r['target'], headers=hdrs,\n"
      "                     data=bytes.fromhex(r['body']))\n"
      "    t = datetime.datetime.strptime(h['x-amz-date'], '%Y%m%dT%H%M%SZ')\n"
      "    with mock.patch('botocore.auth.datetime') as dt:\n"
      "        dt.datetime.utcnow.return_value = t\n"
      "        S3SigV4Auth(creds, 's3', 'us-east-1').add_auth(req)\n"
      "    want = req.headers['Authorization'].replace(', ', ',')\n"
      "    if want != h['authorization']:\n"
      "        bad += 1\n"
      "        print('MISMATCH', r['method'], r['target'], want, h['authorization'])\n"
      "print(len(json.load(open(sys.argv[1]))), 'checked')\n"
      "sys.exit(1 if bad else 0)\n";
  EXPECT_EQ(std::system(("/usr/bin/python3 " + script + " " + requests).c_str()), 0);
  std::lock_guard lock(mu);
  EXPECT_EQ(recorded.size(), 1u + 1u + 3u + 1u + 1u);  // PUT; create, 3 parts, complete; HEAD
}

}  // namespace
}  // namespace rq::backup
