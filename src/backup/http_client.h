// A small blocking HTTP client over libcurl (backup/curl_library.h, loaded
// on first use) for the S3 and GCS clients, CDC's webhook and OTLP:
// one request, a body made of in-memory pieces and file ranges, a response
// body in memory or streamed to a file, a per-request timeout, and retries
// with exponential backoff on network errors and 5xx answers.
//
// libcurl does TLS (OpenSSL, peer verified), proxies from the environment
// and redirects are off (object stores do not redirect signed requests).
//
// Thread-safety: each call uses its own curl handle; safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace rq::backup {

// One piece of a request body: bytes, or `length` bytes of a file from
// `offset`.
struct BodyPiece {
  std::string bytes;
  std::string file;
  uint64_t offset = 0;
  uint64_t length = 0;

  static BodyPiece Bytes(std::string b) { return BodyPiece{std::move(b), {}, 0, 0}; }
  static BodyPiece FileRange(std::string path, uint64_t offset, uint64_t length) {
    return BodyPiece{{}, std::move(path), offset, length};
  }
  uint64_t size() const { return file.empty() ? bytes.size() : length; }
};

// TLS settings beyond libcurl's defaults (CDC's tls block); empty: the
// system's CA store, no client certificate.
struct TlsOptions {
  std::string ca_file;    // trusted CAs, PEM
  std::string cert_file;  // client certificate, PEM
  std::string key_file;   // its key, PEM
  bool insecure_skip_verify = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<BodyPiece> body;
  // When set, the body of a 2xx answer is written to this file (truncated
  // first); other answers' bodies stay in HttpResponse::body.
  std::string response_file;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // Polled while the request runs; true aborts it (Status::Aborted).
  const std::atomic<bool>* cancel = nullptr;
  TlsOptions tls;
  // "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT" (CURLOPT_CONNECT_TO): the
  // URL's name is used for SNI and certificate checks, the connection goes
  // elsewhere (a TLS server_name that differs from the address).
  std::string connect_to;
  // HTTP/2 (gRPC): without an Upgrade round over http://, by ALPN over https://.
  bool http2 = false;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; the last of repeats
  std::string body;
  uint64_t body_bytes = 0;  // bytes received, to the file or to `body`

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One attempt. A network failure is IOError (curl's text), a timeout
// Timeout; any HTTP answer, even 500, is a value.
Result<HttpResponse> PerformHttp(const HttpRequest& request);

struct RetryPolicy {
  int attempts_max = 5;                                       // total tries, >= 1
  std::chrono::milliseconds backoff_initial{200};             // doubled each retry
  std::chrono::milliseconds backoff_max{std::chrono::seconds(5)};
};

// Calls make_request() for each attempt (so signatures and dates are fresh)
// and retries on IOError, Timeout and HTTP 5xx (and 429), sleeping
// backoff_initial, 2x, 4x... up to backoff_max between tries. Returns the
// last answer or error. `retries` (optional) counts the retries made.
Result<HttpResponse> PerformHttpWithRetry(const std::function<Result<HttpRequest>()>& make_request,
                                          const RetryPolicy& policy, int* retries = nullptr,
                                          const std::atomic<bool>* cancel = nullptr);

// RFC 3986 percent-encoding of everything but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), and '/' too unless keep_slash.
std::string PercentEncode(std::string_view text, bool keep_slash);

// The text of <Tag>...</Tag> in an XML answer ("" when absent): S3's
// <Code>, <Message>, <UploadId>.
std::string XmlElement(std::string_view xml, std::string_view tag);

}  // namespace rq::backup
