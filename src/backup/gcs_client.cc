// GCS JSON API with a service-account key (see gcs_client.h).
#include "backup/gcs_client.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "backup/codec.h"
#include "base/base64.h"

namespace rq::backup {
namespace json = boost::json;
namespace {

constexpr const char* kBoundary = "rqlite_backup_boundary_5b1c0e7d";
constexpr auto kTokenRefreshMargin = std::chrono::minutes(2);

Result<std::string> SignRs256(const std::string& pem, std::string_view data) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  RQ_ASSERT(bio != nullptr);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (key == nullptr) return Status::InvalidArgument("GCS: private_key is not a PEM private key");
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return Status::InvalidArgument("GCS: private_key is not an RSA key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Status::Internal("GCS: RS256 signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Status::Internal("GCS: RS256 signing failed");
  }
  signature.resize(length);
  return signature;
}

std::string FormEncode(std::string_view text) { return PercentEncode(text, false); }

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string text = base64::Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return text;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  return base64::Decode(standard);
}

Result<ServiceAccountKey> ReadServiceAccountKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("GCS: cannot read the credentials file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) return Status::InvalidArgument("GCS: credentials file " + path + " is not a JSON object");
  const json::object& object = value.as_object();
  auto field = [&](const char* name) -> std::string {
    const json::value* v = object.if_contains(name);
    return (v != nullptr && v->is_string()) ? std::string(v->as_string()) : std::string();
  };
  ServiceAccountKey key{field("client_email"), field("private_key"), field("private_key_id"), field("token_uri")};
  if (key.client_email.empty()) return Status::InvalidArgument("GCS: credentials file " + path + " has no client_email");
  if (key.private_key_pem.empty()) return Status::InvalidArgument("GCS: credentials file " + path + " has no private_key");
  if (key.token_uri.empty()) key.token_uri = kGcsDefaultTokenUri;
  return key;
}

Result<std::string> MakeServiceAccountJwt(const ServiceAccountKey& key, std::chrono::system_clock::time_point now) {
  int64_t issued = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  json::object claims{{"iss", key.client_email}, {"scope", kGcsScope}, {"aud", key.token_uri},
                      {"iat", issued}, {"exp", issued + 3600}};
  std::string signing_input = Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(claims));
  Result<std::string> signature = SignRs256(key.private_key_pem, signing_input);
  if (!signature.ok()) return signature.status();
  return signing_input + "." + Base64UrlEncode(*signature);
}

Result<std::unique_ptr<GcsClient>> GcsClient::Create(const GcsConfig& config, const GcsClientOptions& options) {
  Result<ServiceAccountKey> key = ReadServiceAccountKey(config.credentials_path);
  if (!key.ok()) return key.status();
  // Fail now, not at the first upload, on a key OpenSSL cannot use.
  Result<std::string> probe = MakeServiceAccountJwt(*key, std::chrono::system_clock::now());
  if (!probe.ok()) return probe.status().WithContext(config.credentials_path);
  GcsConfig cleaned = config;
  if (cleaned.endpoint.empty()) cleaned.endpoint = kGcsDefaultEndpoint;
  while (!cleaned.endpoint.empty() && cleaned.endpoint.back() == '/') cleaned.endpoint.pop_back();
  return std::unique_ptr<GcsClient>(new GcsClient(std::move(cleaned), options, std::move(*key)));
}

GcsClient::GcsClient(GcsConfig config, GcsClientOptions options, ServiceAccountKey key)
    : config_(std::move(config)), options_(options), key_(std::move(key)) {}

std::string GcsClient::Describe() const { return "gs://" + config_.bucket + "/" + config_.name; }

std::string GcsClient::ObjectUrl() const {
  return config_.endpoint + "/storage/v1/b/" + PercentEncode(config_.bucket, false) + "/o/" +
         PercentEncode(config_.name, false);
}

Status GcsClient::ErrorFrom(const HttpResponse& response, std::string_view what) const {
  std::string text = "GCS " + std::string(what) + " of " + Describe() + " failed: HTTP " + std::to_string(response.status);
  boost::system::error_code ec;
  json::value body = json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    const json::value* error = body.as_object().if_contains("error");
    if (error != nullptr && error->is_object()) {
      const json::value* message = error->as_object().if_contains("message");
      if (message != nullptr && message->is_string()) text += ": " + std::string(message->as_string());
    }
  }
  if (response.status == 404) return Status::NotFound(text);
  if (response.status >= 500) return Status::Unavailable(text);
  return Status::IOError(text);
}

Result<std::string> GcsClient::AccessToken() {
  if (!access_token_.empty() && std::chrono::steady_clock::now() + kTokenRefreshMargin < token_expiry_) {
    return access_token_;
  }
  auto make = [&]() -> Result<HttpRequest> {
    Result<std::string> jwt = MakeServiceAccountJwt(key_, std::chrono::system_clock::now());
    if (!jwt.ok()) return jwt.status();
    HttpRequest request;
    request.method = "POST";
    request.url = key_.token_uri;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.body = {BodyPiece::Bytes("grant_type=" + FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                                     "&assertion=" + FormEncode(*jwt))};
    request.timeout = std::min<std::chrono::milliseconds>(options_.request_timeout, std::chrono::seconds(60));
    request.cancel = options_.cancel;
    return request;
  };
  Result<HttpResponse> response = PerformHttpWithRetry(make, options_.retry, nullptr, options_.cancel);
  if (!response.ok()) return response.status().WithContext("GCS token request to " + key_.token_uri);
  if (response->status != 200) {
    return Status::IOError("GCS token request to " + key_.token_uri + " failed: HTTP " + std::to_string(response->status));
  }
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  const json::value* token = (!ec && body.is_object()) ? body.as_object().if_contains("access_token") : nullptr;
  if (token == nullptr || !token->is_string()) return Status::IOError("GCS token answer has no access_token");
  int64_t expires_in = 3600;
  if (const json::value* e = body.as_object().if_contains("expires_in"); e != nullptr && e->is_int64()) {
    expires_in = e->as_int64();
  }
  access_token_ = std::string(token->as_string());
  token_expiry_ = std::chrono::steady_clock::now() + std::chrono::seconds(expires_in);
  return access_token_;
}

Result<HttpResponse> GcsClient::Send(HttpRequest request, std::optional<Deadline> deadline) {
  Result<std::string> token = AccessToken();
  if (!token.ok()) return token.status();
  request.headers.emplace_back("Authorization", "Bearer " + *token);
  request.cancel = options_.cancel;
  auto make = [&]() -> Result<HttpRequest> {
    HttpRequest attempt = request;
    attempt.timeout = options_.request_timeout;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::Timeout("GCS " + request.method + " of " + Describe() + ": deadline passed");
      attempt.timeout = std::min(attempt.timeout, left);
    }
    return attempt;
  };
  return PerformHttpWithRetry(make, options_.retry, nullptr, options_.cancel);
}

Result<UploadResult> GcsClient::Upload(const std::string& path, const ObjectMetadata& metadata,
                                       std::chrono::system_clock::time_point now) {
  Result<uint64_t> size = FileSize(path);
  if (!size.ok()) return size.status();
  std::string name = options_.timestamp ? TimestampedName(config_.name, now) : config_.name;
  json::object meta_map;
  if (!metadata.id.empty()) meta_map[kGcsIdKey] = metadata.id;
  if (!metadata.sha256_hex.empty()) meta_map[kGcsSumKey] = metadata.sha256_hex;
  json::object resource{{"name", name}, {"metadata", meta_map}};
  std::string head = std::string("--") + kBoundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" +
                     json::serialize(resource) + "\r\n--" + kBoundary + "\r\nContent-Type: application/octet-stream\r\n\r\n";
  std::string tail = std::string("\r\n--") + kBoundary + "--\r\n";
  HttpRequest request;
  request.method = "POST";
  request.url = config_.endpoint + "/upload/storage/v1/b/" + PercentEncode(config_.bucket, false) + "/o?uploadType=multipart";
  request.headers = {{"Content-Type", std::string("multipart/related; boundary=") + kBoundary}};
  request.body = {BodyPiece::Bytes(head), BodyPiece::FileRange(path, 0, *size), BodyPiece::Bytes(tail)};
  Result<HttpResponse> response = Send(std::move(request));
  if (!response.ok()) return response.status().WithContext("GCS upload of " + Describe());
  if (response->status != 200) return ErrorFrom(*response, "upload");
  return UploadResult{name, *size};
}

Status GcsClient::Download(const std::string& path, Deadline deadline) {
  HttpRequest request;
  request.url = ObjectUrl() + "?alt=media";
  request.response_file = path;
  Result<HttpResponse> response = Send(std::move(request), deadline);
  if (!response.ok()) return response.status().WithContext("GCS download of " + Describe());
  if (response->status != 200) return ErrorFrom(*response, "download");
  return Status::OK();
}

Result<ObjectMetadata> GcsClient::CurrentMetadata() {
  HttpRequest request;
  request.url = ObjectUrl();
  Result<HttpResponse> response = Send(std::move(request));
  if (!response.ok()) return response.status().WithContext("GCS metadata of " + Describe());
  if (response->status != 200) return ErrorFrom(*response, "metadata read");
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  if (ec || !body.is_object()) return Status::IOError("GCS metadata of " + Describe() + ": not a JSON object");
  ObjectMetadata metadata;
  const json::value* map = body.as_object().if_contains("metadata");
  if (map != nullptr && map->is_object()) {
    const json::object& m = map->as_object();
    if (const json::value* v = m.if_contains(kGcsSumKey); v != nullptr && v->is_string()) metadata.sha256_hex = v->as_string();
    if (const json::value* v = m.if_contains(kGcsIdKey); v != nullptr && v->is_string()) metadata.id = v->as_string();
  }
  return metadata;
}

}  // namespace rq::backup
