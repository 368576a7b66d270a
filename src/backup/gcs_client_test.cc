// GcsClient against fake_gcs: a FAKE Google Cloud Storage written for this
// test (not Google's service) on a local port. It plays the OAuth token
// endpoint, checking the JWT's RS256 signature with the service account's
// public key and its claims, and the JSON API's multipart upload, object
// metadata and media download, keeping objects in memory.
#include "backup/gcs_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "backup/test_http_server.h"

namespace rq::backup {
namespace {
namespace json = boost::json;

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

KeyPtr NewRsaKey() { return KeyPtr(EVP_RSA_gen(2048), EVP_PKEY_free); }

std::string PrivatePem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

bool VerifyRs256(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::string FormValue(std::string_view body, std::string_view name) {
  std::string key = std::string(name) + "=";
  size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  size_t end = body.find('&', at);
  return UrlDecode(body.substr(at + key.size(), end == std::string_view::npos ? std::string_view::npos : end - at - key.size()));
}

// The fake. Every storage call needs a token it issued.
class FakeGcs {
 public:
  FakeGcs(EVP_PKEY* trusted_key, std::string bucket)
      : key_(trusted_key), bucket_(std::move(bucket)), server_([this](const testing::TestRequest& r) { return Handle(r); }) {}

  std::string url() const { return server_.url(); }
  std::string token_uri() const { return server_.url() + "/token"; }
  int token_requests() const { return token_requests_; }
  std::string object(const std::string& name) {
    std::lock_guard lock(mu_);
    return objects_[name].data;
  }

 private:
  struct Object {
    std::string data;
    json::object metadata;
  };

  static testing::TestResponse Error(int status, const std::string& message) {
    return {status, {{"Content-Type", "application/json"}},
            json::serialize(json::object{{"error", json::object{{"code", status}, {"message", message}}}})};
  }

  testing::TestResponse Token(const testing::TestRequest& r) {
    ++token_requests_;
    if (FormValue(r.body, "grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer") return Error(400, "grant_type");
    std::string jwt = FormValue(r.body, "assertion");
    size_t dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
    if (dot1 == std::string::npos || dot1 == dot2) return Error(400, "not a JWT");
    std::optional<std::string> signature = Base64UrlDecode(jwt.substr(dot2 + 1));
    if (!signature || !VerifyRs256(key_, jwt.substr(0, dot2), *signature)) return Error(401, "invalid_grant: bad signature");
    std::optional<std::string> header = Base64UrlDecode(jwt.substr(0, dot1));
    std::optional<std::string> claims = Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
    json::object h = json::parse(*header).as_object();
    json::object c = json::parse(*claims).as_object();
    if (h["alg"] != "RS256" || h["typ"] != "JWT") return Error(401, "header");
    if (c["iss"] != "backup@fake-project.iam.gserviceaccount.com" || c["aud"] != json::value(token_uri()) || c["scope"] != kGcsScope ||
        c["exp"].as_int64() - c["iat"].as_int64() != 3600) {
      return Error(401, "claims");
    }
    std::lock_guard lock(mu_);
    token_ = "fake-token-" + std::to_string(token_requests_);
    return {200, {}, json::serialize(json::object{{"access_token", token_}, {"expires_in", 3600}, {"token_type", "Bearer"}})};
  }

  testing::TestResponse Upload(const testing::TestRequest& r) {
    std::string type = r.headers.at("content-type");
    std::string boundary = "--" + type.substr(type.find("boundary=") + 9);
    std::vector<std::string> parts;
    for (size_t at = r.body.find(boundary); at != std::string::npos;) {
      size_t next = r.body.find(boundary, at + boundary.size());
      if (next == std::string::npos) break;
      std::string part = r.body.substr(at + boundary.size() + 2, next - at - boundary.size() - 4);  // drop CRLFs
      parts.push_back(part.substr(part.find("\r\n\r\n") + 4));
      at = next;
    }
    if (parts.size() != 2) return Error(400, "multipart body must have two parts");
    json::object resource = json::parse(parts[0]).as_object();
    std::string name(resource["name"].as_string());
    std::lock_guard lock(mu_);
    objects_[name] = Object{parts[1], resource["metadata"].as_object()};
    return {200, {}, json::serialize(json::object{{"name", name}, {"bucket", bucket_}})};
  }

  testing::TestResponse Handle(const testing::TestRequest& r) {
    if (r.method == "POST" && r.path == "/token") return Token(r);
    {
      std::lock_guard lock(mu_);
      if (token_.empty() || r.headers.count("authorization") == 0 || r.headers.at("authorization") != "Bearer " + token_) {
        return Error(401, "Invalid Credentials");
      }
    }
    std::string upload_path = "/upload/storage/v1/b/" + bucket_ + "/o";
    if (r.method == "POST" && r.path == upload_path && r.query == "uploadType=multipart") return Upload(r);
    std::string object_prefix = "/storage/v1/b/" + bucket_ + "/o/";
    if (r.method != "GET" || r.path.rfind(object_prefix, 0) != 0) return Error(404, "Not Found");
    std::string name = UrlDecode(r.path.substr(object_prefix.size()));
    std::lock_guard lock(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return Error(404, "No such object: " + bucket_ + "/" + name);
    if (r.query == "alt=media") return {200, {}, it->second.data};
    return {200, {}, json::serialize(json::object{{"name", name}, {"metadata", it->second.metadata}})};
  }

  EVP_PKEY* key_;
  std::string bucket_;
  std::mutex mu_;
  std::map<std::string, Object> objects_;
  std::string token_;
  std::atomic<int> token_requests_{0};
  testing::TestHttpServer server_;  // last: stops before the rest goes
};

class GcsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/gcs-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("mkdir -p " + dir_).c_str()), 0);
    fake_ = std::make_unique<FakeGcs>(key_.get(), "bkt");
  }

  std::string WriteKeyFile(EVP_PKEY* signing_key) {
    std::string path = dir_ + "/key.json";
    json::object key{{"type", "service_account"},
                     {"project_id", "fake-project"},
                     {"private_key_id", "kid-1"},
                     {"private_key", PrivatePem(signing_key)},
                     {"client_email", "backup@fake-project.iam.gserviceaccount.com"},
                     {"token_uri", fake_->token_uri()}};
    std::ofstream(path) << json::serialize(key);
    return path;
  }

  std::unique_ptr<GcsClient> Client(const std::string& name, bool timestamp = false, EVP_PKEY* signing_key = nullptr) {
    GcsConfig config{fake_->url(), "fake-project", "bkt", name, WriteKeyFile(signing_key ? signing_key : key_.get())};
    GcsClientOptions options;
    options.timestamp = timestamp;
    options.retry.backoff_initial = std::chrono::milliseconds(5);
    auto client = GcsClient::Create(config, options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(*client);
  }

  static Deadline Soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

  KeyPtr key_ = NewRsaKey();
  std::string dir_;
  std::unique_ptr<FakeGcs> fake_;
};

TEST_F(GcsClientTest, UploadThenMetadataThenDownload) {
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::ofstream(dir_ + "/db", std::ios::binary) << data;
  auto client = Client("backups/db.sqlite.gz");
  Result<UploadResult> up = client->Upload(dir_ + "/db", {"abc123", "17"}, std::chrono::system_clock::now());
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(fake_->object("backups/db.sqlite.gz"), data);
  Result<ObjectMetadata> meta = client->CurrentMetadata();
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->sha256_hex, "abc123");
  EXPECT_EQ(meta->id, "17");
  ASSERT_TRUE(client->Download(dir_ + "/back", Soon()).ok());
  std::ifstream in(dir_ + "/back", std::ios::binary);
  std::stringstream back;
  back << in.rdbuf();
  EXPECT_EQ(back.str(), data);
  EXPECT_EQ(client->Describe(), "gs://bkt/backups/db.sqlite.gz");
}

TEST_F(GcsClientTest, TokenIsFetchedOnceAndReused) {
  std::ofstream(dir_ + "/f") << "x";
  auto client = Client("n");
  ASSERT_TRUE(client->Upload(dir_ + "/f", {}, std::chrono::system_clock::now()).ok());
  ASSERT_TRUE(client->CurrentMetadata().ok());
  ASSERT_TRUE(client->Download(dir_ + "/g", Soon()).ok());
  EXPECT_EQ(fake_->token_requests(), 1);
}

TEST_F(GcsClientTest, TimestampedNameUsesTheUploadTime) {
  std::ofstream(dir_ + "/f") << "x";
  auto client = Client("db.gz", /*timestamp=*/true);
  Result<UploadResult> up = client->Upload(dir_ + "/f", {}, std::chrono::system_clock::from_time_t(1714558830));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->object_name, "20240501102030_db.gz");
  EXPECT_EQ(fake_->object("20240501102030_db.gz"), "x");
}

TEST_F(GcsClientTest, MissingObjectIsNotFound) {
  auto client = Client("absent");
  EXPECT_TRUE(client->CurrentMetadata().status().IsNotFound());
  Status s = client->Download(dir_ + "/x", Soon());
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("No such object"), std::string::npos);
}

TEST_F(GcsClientTest, JwtSignedByAnotherKeyIsRefused) {
  KeyPtr stranger = NewRsaKey();
  auto client = Client("n", false, stranger.get());
  Result<ObjectMetadata> meta = client->CurrentMetadata();
  ASSERT_FALSE(meta.ok());
  EXPECT_NE(meta.status().message().find("token request"), std::string::npos) << meta.status().ToString();
  EXPECT_NE(meta.status().message().find("HTTP 401"), std::string::npos);
}

TEST_F(GcsClientTest, JwtVerifiesWithThePublicKey) {
  Result<ServiceAccountKey> key = ReadServiceAccountKey(WriteKeyFile(key_.get()));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->private_key_id, "kid-1");
  Result<std::string> jwt = MakeServiceAccountJwt(*key, std::chrono::system_clock::from_time_t(1700000000));
  ASSERT_TRUE(jwt.ok());
  size_t dot = jwt->rfind('.');
  EXPECT_TRUE(VerifyRs256(key_.get(), jwt->substr(0, dot), *Base64UrlDecode(jwt->substr(dot + 1))));
  json::object claims = json::parse(*Base64UrlDecode(jwt->substr(jwt->find('.') + 1, dot - jwt->find('.') - 1))).as_object();
  EXPECT_EQ(claims["iat"].as_int64(), 1700000000);
  EXPECT_EQ(claims["exp"].as_int64(), 1700003600);
  EXPECT_EQ(jwt->find('='), std::string::npos);  // base64url without padding
}

TEST_F(GcsClientTest, BadKeyFilesAreClearErrors) {
  GcsConfig config{fake_->url(), "p", "bkt", "n", dir_ + "/nope.json"};
  EXPECT_TRUE(GcsClient::Create(config, {}).status().IsIOError());
  std::ofstream(dir_ + "/bad.json") << R"({"client_email":"a@b","private_key":"not a pem"})";
  config.credentials_path = dir_ + "/bad.json";
  Result<std::unique_ptr<GcsClient>> bad = GcsClient::Create(config, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a PEM private key"), std::string::npos) << bad.status().ToString();
  std::ofstream(dir_ + "/noemail.json") << R"({"private_key":"x"})";
  config.credentials_path = dir_ + "/noemail.json";
  EXPECT_NE(GcsClient::Create(config, {}).status().message().find("no client_email"), std::string::npos);
}

}  // namespace
}  // namespace rq::backup
