// S3 over libcurl with Signature V4: PUT, multipart upload, HEAD, GET.
#include "backup/s3_client.h"

#include <cstdlib>

#include "backup/codec.h"
#include "base/logging.h"

namespace rq::backup {
namespace {

constexpr uint64_t kPartsMax = 10000;  // S3's limit on parts per upload
constexpr const char* kService = "s3";

std::string EnvOr(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

std::vector<std::pair<std::string, std::string>> MetadataHeaders(const ObjectMetadata& metadata) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!metadata.sha256_hex.empty()) headers.emplace_back(std::string("x-amz-meta-") + kS3SumKey, metadata.sha256_hex);
  if (!metadata.id.empty()) headers.emplace_back(std::string("x-amz-meta-") + kS3IdKey, metadata.id);
  return headers;
}

bool IsAwsHost(std::string_view host) { return host.ends_with("amazonaws.com"); }

}  // namespace

Result<S3Endpoint> ResolveS3Endpoint(const S3Config& config) {
  S3Endpoint endpoint;
  std::string bucket_path = "/" + PercentEncode(config.bucket, false);
  if (config.endpoint.empty()) {
    if (config.region.empty()) return Status::InvalidArgument("S3: a region is needed when no endpoint is given");
    endpoint.scheme = "https";
    std::string aws = "s3." + config.region + ".amazonaws.com";
    endpoint.host = config.force_path_style ? aws : config.bucket + "." + aws;
    endpoint.base_path = config.force_path_style ? bucket_path : "";
    return endpoint;
  }
  std::string rest = config.endpoint;
  endpoint.scheme = "https";
  if (size_t scheme_end = rest.find("://"); scheme_end != std::string::npos) {
    endpoint.scheme = rest.substr(0, scheme_end);
    rest = rest.substr(scheme_end + 3);
  }
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return Status::InvalidArgument("S3 endpoint \"" + config.endpoint + "\": only http:// and https:// are supported");
  }
  std::string prefix_path;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    prefix_path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  while (!prefix_path.empty() && prefix_path.back() == '/') prefix_path.pop_back();
  if (rest.empty()) return Status::InvalidArgument("S3 endpoint \"" + config.endpoint + "\" has no host");
  endpoint.host = config.force_path_style ? rest : config.bucket + "." + rest;
  endpoint.base_path = prefix_path + (config.force_path_style ? bucket_path : "");
  return endpoint;
}

Result<std::unique_ptr<S3Client>> S3Client::Create(const S3Config& config, const S3ClientOptions& options) {
  RQ_ASSERT(options.part_size_bytes > 0);
  S3Config cleaned = config;
  if (cleaned.region.empty()) cleaned.region = "us-east-1";
  Result<S3Endpoint> endpoint = ResolveS3Endpoint(cleaned);
  if (!endpoint.ok()) return endpoint.status();
  sigv4::Credentials credentials{config.access_key_id, config.secret_access_key, ""};
  if (credentials.access_key_id.empty()) {
    credentials = {EnvOr("AWS_ACCESS_KEY_ID"), EnvOr("AWS_SECRET_ACCESS_KEY"), EnvOr("AWS_SESSION_TOKEN")};
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "S3: no credentials: set access_key_id and secret_access_key in the config, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY in the environment");
  }
  cleaned.secret_access_key.clear();
  return std::unique_ptr<S3Client>(new S3Client(std::move(cleaned), options, std::move(*endpoint), std::move(credentials)));
}

S3Client::S3Client(S3Config config, S3ClientOptions options, S3Endpoint endpoint, sigv4::Credentials credentials)
    : config_(std::move(config)), options_(options), endpoint_(std::move(endpoint)), credentials_(std::move(credentials)) {}

std::string S3Client::Describe() const {
  if (config_.endpoint.empty() || IsAwsHost(config_.endpoint)) return "s3://" + config_.bucket + "/" + config_.path;
  return config_.endpoint + "/" + config_.bucket + "/" + config_.path;
}

HttpRequest S3Client::Sign(const Call& call, std::chrono::milliseconds timeout) const {
  std::string amz_date = sigv4::AmzDate(std::chrono::system_clock::now());
  sigv4::Request signing;
  signing.method = call.method;
  signing.path = endpoint_.base_path + "/" + PercentEncode(call.key, true);
  signing.query = call.query;
  signing.payload_sha256_hex = call.payload_sha256_hex;
  signing.headers = {{"host", endpoint_.host}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", call.payload_sha256_hex}};
  if (!credentials_.session_token.empty()) signing.headers.emplace_back("x-amz-security-token", credentials_.session_token);
  for (const auto& header : call.headers) signing.headers.push_back(header);

  HttpRequest request;
  request.method = call.method;
  std::string query = sigv4::CanonicalQuery(call.query);
  request.url = endpoint_.scheme + "://" + endpoint_.host + signing.path + (query.empty() ? "" : "?" + query);
  request.headers = signing.headers;
  request.headers.emplace_back("Authorization",
                               sigv4::Authorization(signing, credentials_, amz_date, config_.region, kService));
  request.body = call.body;
  request.response_file = call.response_file;
  request.timeout = timeout;
  request.cancel = options_.cancel;
  return request;
}

Result<HttpResponse> S3Client::Send(const Call& call) {
  auto make = [&]() -> Result<HttpRequest> {
    std::chrono::milliseconds timeout = options_.request_timeout;
    if (call.deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*call.deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::Timeout("S3 " + call.method + " of " + Describe() + ": deadline passed");
      timeout = std::min(timeout, left);
    }
    return Sign(call, timeout);
  };
  return PerformHttpWithRetry(make, options_.retry, &retries_, options_.cancel);
}

Status S3Client::ErrorFrom(const HttpResponse& response, std::string_view what, const std::string& key) const {
  std::string where = config_.bucket + "/" + key;
  std::string text = "S3 " + std::string(what) + " of " + where + " failed: HTTP " + std::to_string(response.status);
  std::string code = XmlElement(response.body, "Code");
  std::string message = XmlElement(response.body, "Message");
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (response.status == 404) return Status::NotFound(text);
  if (response.status >= 500) return Status::Unavailable(text);
  return Status::IOError(text);
}

Status S3Client::PutObject(const std::string& path, uint64_t size, const std::string& key,
                           const std::vector<std::pair<std::string, std::string>>& meta) {
  Result<std::string> sum = Sha256File(path);
  if (!sum.ok()) return sum.status();
  Call call{"PUT", key, {}, meta, {BodyPiece::FileRange(path, 0, size)}, HexEncode(*sum), {}, std::nullopt};
  call.headers.emplace_back("content-type", "application/octet-stream");
  Result<HttpResponse> response = Send(call);
  if (!response.ok()) return response.status().WithContext("S3 PUT of " + config_.bucket + "/" + key);
  if (response->status != 200) return ErrorFrom(*response, "PUT", key);
  return Status::OK();
}

void S3Client::AbortMultipart(const std::string& key, const std::string& upload_id) {
  Call call{"DELETE", key, {{"uploadId", upload_id}}, {}, {}, sigv4::kEmptyPayloadSha256, {}, std::nullopt};
  Result<HttpResponse> response = Send(call);
  if (!response.ok() || (response->status != 204 && response->status != 200)) {
    RQ_LOG_WARN("auto-backup: could not abort multipart upload {} of {}/{}: {}", upload_id, config_.bucket, key,
                response.ok() ? "HTTP " + std::to_string(response->status) : response.status().ToString());
  }
}

Status S3Client::MultipartUpload(const std::string& path, uint64_t size, const std::string& key,
                                 const std::vector<std::pair<std::string, std::string>>& meta) {
  uint64_t part_size = std::max(options_.part_size_bytes, (size + kPartsMax - 1) / kPartsMax);
  Call create{"POST", key, {{"uploads", ""}}, meta, {}, sigv4::kEmptyPayloadSha256, {}, std::nullopt};
  create.headers.emplace_back("content-type", "application/octet-stream");
  Result<HttpResponse> created = Send(create);
  if (!created.ok()) return created.status().WithContext("S3 create multipart upload of " + config_.bucket + "/" + key);
  if (created->status != 200) return ErrorFrom(*created, "create multipart upload", key);
  std::string upload_id = XmlElement(created->body, "UploadId");
  if (upload_id.empty()) return Status::IOError("S3 create multipart upload of " + key + ": no UploadId in the answer");

  std::string complete = "<CompleteMultipartUpload>";
  Status status;
  uint64_t parts = (size + part_size - 1) / part_size;
  RQ_ASSERT(parts >= 1 && parts <= kPartsMax);
  for (uint64_t part = 1; part <= parts && status.ok(); ++part) {
    uint64_t offset = (part - 1) * part_size;
    uint64_t length = std::min(part_size, size - offset);
    Result<std::string> sum = Sha256File(path, offset, length);
    if (!sum.ok()) { status = sum.status(); break; }
    Call put{"PUT", key, {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}, {},
             {BodyPiece::FileRange(path, offset, length)}, HexEncode(*sum), {}, std::nullopt};
    Result<HttpResponse> answer = Send(put);
    if (!answer.ok()) status = answer.status().WithContext("S3 upload part " + std::to_string(part) + " of " + key);
    else if (answer->status != 200) status = ErrorFrom(*answer, "upload part " + std::to_string(part), key);
    else if (answer->Header("etag").empty()) status = Status::IOError("S3 upload part of " + key + ": no ETag");
    if (status.ok()) {
      complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + answer->Header("etag") +
                  "</ETag></Part>";
    }
  }
  complete += "</CompleteMultipartUpload>";
  if (status.ok()) {
    Call finish{"POST", key, {{"uploadId", upload_id}}, {{"content-type", "application/xml"}},
                {BodyPiece::Bytes(complete)}, HexEncode(Sha256(complete)), {}, std::nullopt};
    Result<HttpResponse> done = Send(finish);
    if (!done.ok()) status = done.status().WithContext("S3 complete multipart upload of " + key);
    // S3 may answer 200 and put the failure in the body.
    else if (done->status != 200 || done->body.find("<Error>") != std::string::npos) {
      status = ErrorFrom(*done, "complete multipart upload", key);
    }
  }
  if (!status.ok()) AbortMultipart(key, upload_id);
  return status;
}

Result<UploadResult> S3Client::Upload(const std::string& path, const ObjectMetadata& metadata,
                                      std::chrono::system_clock::time_point now) {
  Result<uint64_t> size = FileSize(path);
  if (!size.ok()) return size.status();
  std::string key = options_.timestamp ? TimestampedName(config_.path, now) : config_.path;
  auto meta = MetadataHeaders(metadata);
  Status status = *size >= options_.multipart_threshold_bytes ? MultipartUpload(path, *size, key, meta)
                                                              : PutObject(path, *size, key, meta);
  if (!status.ok()) return status;
  return UploadResult{key, *size};
}

Status S3Client::Download(const std::string& path, Deadline deadline) {
  Call call{"GET", config_.path, {}, {}, {}, sigv4::kEmptyPayloadSha256, path, deadline};
  Result<HttpResponse> response = Send(call);
  if (!response.ok()) return response.status().WithContext("S3 GET of " + Describe());
  if (response->status != 200) return ErrorFrom(*response, "GET", config_.path);
  return Status::OK();
}

Result<ObjectMetadata> S3Client::CurrentMetadata() {
  Call call{"HEAD", config_.path, {}, {}, {}, sigv4::kEmptyPayloadSha256, {}, std::nullopt};
  Result<HttpResponse> response = Send(call);
  if (!response.ok()) return response.status().WithContext("S3 HEAD of " + Describe());
  if (response->status != 200) return ErrorFrom(*response, "HEAD", config_.path);
  return ObjectMetadata{response->Header(std::string("x-amz-meta-") + kS3SumKey),
                        response->Header(std::string("x-amz-meta-") + kS3IdKey)};
}

}  // namespace rq::backup
