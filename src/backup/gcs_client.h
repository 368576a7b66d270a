// GcsClient: auto-backup objects in Google Cloud Storage through its JSON
// API (rqlite auto/gcp), authenticated as a service account:
//   1. a JWT (RS256, signed with the key file's private_key) claiming
//      iss=client_email, scope=devstorage.read_write, aud=token_uri;
//   2. POST to the key file's token_uri (grant_type jwt-bearer) for an
//      access token, cached until two minutes before it expires;
//   3. "Authorization: Bearer <token>" on each storage call:
//      upload   POST <endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=multipart
//      metadata GET  <endpoint>/storage/v1/b/<bucket>/o/<name>
//      download GET  <endpoint>/storage/v1/b/<bucket>/o/<name>?alt=media
// The endpoint and token_uri come from the config and the key file, so a
// test points both at a local fake.
//
// Thread-safety: one thread at a time; Describe() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "backup/http_client.h"
#include "backup/storage.h"

namespace rq::backup {

inline constexpr const char* kGcsDefaultEndpoint = "https://storage.googleapis.com";
inline constexpr const char* kGcsDefaultTokenUri = "https://oauth2.googleapis.com/token";
inline constexpr const char* kGcsScope = "https://www.googleapis.com/auth/devstorage.read_write";

struct GcsClientOptions {
  bool timestamp = false;
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{std::chrono::minutes(10)};
  const std::atomic<bool>* cancel = nullptr;
};

// The fields of a service-account key file the client uses.
struct ServiceAccountKey {
  std::string client_email;
  std::string private_key_pem;  // PKCS#8 "-----BEGIN PRIVATE KEY-----"; never logged
  std::string private_key_id;   // the JWT's "kid", when present
  std::string token_uri;        // default kGcsDefaultTokenUri
};
Result<ServiceAccountKey> ReadServiceAccountKey(const std::string& path);

// A signed JWT assertion "<header>.<claims>.<signature>", base64url without
// padding, valid from `now` for an hour (exposed for tests).
Result<std::string> MakeServiceAccountJwt(const ServiceAccountKey& key, std::chrono::system_clock::time_point now);

// base64url without padding (RFC 7515 section 2), and back.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

class GcsClient final : public StorageClient {
 public:
  // Reads the key file now; errors name it.
  static Result<std::unique_ptr<GcsClient>> Create(const GcsConfig& config, const GcsClientOptions& options);

  Result<UploadResult> Upload(const std::string& path, const ObjectMetadata& metadata,
                              std::chrono::system_clock::time_point now) override;
  Status Download(const std::string& path, Deadline deadline) override;
  Result<ObjectMetadata> CurrentMetadata() override;
  std::string Describe() const override;

 private:
  GcsClient(GcsConfig config, GcsClientOptions options, ServiceAccountKey key);
  Result<std::string> AccessToken();
  // One authorized storage call with retries.
  Result<HttpResponse> Send(HttpRequest request, std::optional<Deadline> deadline = std::nullopt);
  std::string ObjectUrl() const;
  Status ErrorFrom(const HttpResponse& response, std::string_view what) const;

  GcsConfig config_;
  GcsClientOptions options_;
  ServiceAccountKey key_;
  std::string access_token_;
  std::chrono::steady_clock::time_point token_expiry_{};
};

}  // namespace rq::backup
