// AWS Signature Version 4 (the "AWS4-HMAC-SHA256" Authorization header), as
// the AWS General Reference and the S3 API Reference ("Authenticating
// Requests: Using the Authorization Header") define it. Pure functions, no
// I/O, so the published examples pin them (sigv4_test.cc).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rq::backup::sigv4 {

// sha256("") in hex: the payload hash of a request without a body.
inline constexpr const char* kEmptyPayloadSha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  std::string session_token;      // "" unless temporary credentials
};

struct Request {
  std::string method;                                        // "GET"
  std::string path;                                          // URI-encoded already: "/test%24file.text"
  std::vector<std::pair<std::string, std::string>> query;    // raw (unencoded) names and values
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign; any case
  std::string payload_sha256_hex;                            // or "UNSIGNED-PAYLOAD"
};

// "20130524T000000Z" and "20130524" (UTC).
std::string AmzDate(std::chrono::system_clock::time_point time);
inline std::string DateStamp(std::string_view amz_date) { return std::string(amz_date.substr(0, 8)); }

// The canonical query string: each name and value percent-encoded
// (unreserved characters kept, '/' encoded), "name=value" pairs sorted by
// name then value, joined with '&'.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);
// "host;range;x-amz-content-sha256;x-amz-date": lower-cased, sorted.
std::string SignedHeaders(const Request& request);
// METHOD \n path \n query \n canonical headers \n signed headers \n payload hash.
std::string CanonicalRequest(const Request& request);
// "AWS4-HMAC-SHA256\n<amz date>\n<date>/<region>/<service>/aws4_request\n<hex sha256 of canonical request>".
std::string StringToSign(std::string_view amz_date, std::string_view region, std::string_view service,
                         std::string_view canonical_request);
// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request"; raw bytes.
std::string SigningKey(std::string_view secret, std::string_view date_stamp, std::string_view region,
                       std::string_view service);
// Hex signature of the request.
std::string Signature(const Request& request, const Credentials& credentials, std::string_view amz_date,
                      std::string_view region, std::string_view service);
// The whole Authorization header value:
// "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,SignedHeaders=...,Signature=...".
std::string Authorization(const Request& request, const Credentials& credentials, std::string_view amz_date,
                          std::string_view region, std::string_view service);

}  // namespace rq::backup::sigv4
