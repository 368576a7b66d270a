// S3Client: auto-backup objects in Amazon S3 or any S3-compatible store
// (MinIO, s3rver, Wasabi, R2...), over libcurl with Signature V4.
//
//   - Endpoint: none = AWS (https://<bucket>.s3.<region>.amazonaws.com, or
//     https://s3.<region>.amazonaws.com/<bucket> with force_path_style);
//     "host[:port]" means https://; "http://..." is allowed for local
//     servers. force_path_style puts the bucket in the path, else in the
//     host name (virtual-hosted style).
//   - Upload: one PUT below multipart_threshold_bytes, else a multipart
//     upload (create, parts of part_size_bytes, complete; abort on failure).
//     Metadata goes in "x-amz-meta-x-rqlite-sum" and
//     "x-amz-meta-x-rqlite-auto-backup-id" headers.
//   - CurrentMetadata: HEAD of the object; Download: GET to a file.
//   - Each request retries (RetryPolicy) on network errors and 5xx, and has
//     its own timeout. Secrets never reach a log or an error text.
//
// Thread-safety: one thread at a time; Describe() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "backup/http_client.h"
#include "backup/sigv4.h"
#include "backup/storage.h"

namespace rq::backup {

struct S3ClientOptions {
  bool timestamp = false;
  // S3 requires parts of at least 5 MiB (but the last); tests go lower.
  uint64_t multipart_threshold_bytes = 32ull << 20;
  uint64_t part_size_bytes = 16ull << 20;
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{std::chrono::minutes(10)};
  // Set to stop requests in flight (the uploader's Stop()).
  const std::atomic<bool>* cancel = nullptr;
};

// Where requests go, derived from the config (exposed for tests).
struct S3Endpoint {
  std::string scheme;     // "https" or "http"
  std::string host;       // "bucket.s3.us-east-1.amazonaws.com" or "127.0.0.1:4568"
  std::string base_path;  // "" or "/bucket" (path style)
};
Result<S3Endpoint> ResolveS3Endpoint(const S3Config& config);

class S3Client final : public StorageClient {
 public:
  // Takes the keys from the config, else from AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); InvalidArgument when
  // neither has them. A missing region with an endpoint means "us-east-1".
  static Result<std::unique_ptr<S3Client>> Create(const S3Config& config, const S3ClientOptions& options);

  Result<UploadResult> Upload(const std::string& path, const ObjectMetadata& metadata,
                              std::chrono::system_clock::time_point now) override;
  Status Download(const std::string& path, Deadline deadline) override;
  Result<ObjectMetadata> CurrentMetadata() override;
  std::string Describe() const override;

  // Retries made so far (tests).
  int TEST_retries() const { return retries_; }

 private:
  S3Client(S3Config config, S3ClientOptions options, S3Endpoint endpoint, sigv4::Credentials credentials);

  struct Call {
    std::string method;
    std::string key;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. x-amz-meta-*
    std::vector<BodyPiece> body;
    std::string payload_sha256_hex = sigv4::kEmptyPayloadSha256;
    std::string response_file;
    std::optional<Deadline> deadline;  // caps each attempt's timeout
  };
  // A signed request, with retries.
  Result<HttpResponse> Send(const Call& call);
  HttpRequest Sign(const Call& call, std::chrono::milliseconds timeout) const;
  Status ErrorFrom(const HttpResponse& response, std::string_view what, const std::string& key) const;

  Status PutObject(const std::string& path, uint64_t size, const std::string& key,
                   const std::vector<std::pair<std::string, std::string>>& meta);
  Status MultipartUpload(const std::string& path, uint64_t size, const std::string& key,
                         const std::vector<std::pair<std::string, std::string>>& meta);
  void AbortMultipart(const std::string& key, const std::string& upload_id);

  S3Config config_;  // secret_access_key cleared; the credentials hold it
  S3ClientOptions options_;
  S3Endpoint endpoint_;
  sigv4::Credentials credentials_;
  int retries_ = 0;
};

}  // namespace rq::backup
