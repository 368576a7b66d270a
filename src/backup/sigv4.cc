// AWS Signature Version 4 (see sigv4.h).
#include "backup/sigv4.h"

#include <algorithm>
#include <ctime>

#include "backup/codec.h"
#include "backup/http_client.h"

namespace rq::backup::sigv4 {
namespace {

// Trims and collapses runs of spaces into one (the canonical header value).
std::string TrimAll(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Lower-cased names with their values, sorted by name; repeated names join
// their values with ','.
std::vector<std::pair<std::string, std::string>> CanonicalHeaderList(const Request& request) {
  std::vector<std::pair<std::string, std::string>> list;
  for (const auto& [name, value] : request.headers) list.emplace_back(AsciiLower(name), TrimAll(value));
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::string>> merged;
  for (auto& entry : list) {
    if (!merged.empty() && merged.back().first == entry.first) {
      merged.back().second += "," + entry.second;
    } else {
      merged.push_back(std::move(entry));
    }
  }
  return merged;
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[17];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(PercentEncode(name, false), PercentEncode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name + "=" + value;
  }
  return out;
}

std::string SignedHeaders(const Request& request) {
  std::string out;
  for (const auto& entry : CanonicalHeaderList(request)) {
    if (!out.empty()) out.push_back(';');
    out += entry.first;
  }
  return out;
}

std::string CanonicalRequest(const Request& request) {
  std::string headers;
  for (const auto& [name, value] : CanonicalHeaderList(request)) headers += name + ":" + value + "\n";
  return request.method + "\n" + request.path + "\n" + CanonicalQuery(request.query) + "\n" + headers + "\n" +
         SignedHeaders(request) + "\n" + request.payload_sha256_hex;
}

std::string StringToSign(std::string_view amz_date, std::string_view region, std::string_view service,
                         std::string_view canonical_request) {
  std::string scope = DateStamp(amz_date) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + HexEncode(Sha256(canonical_request));
}

std::string SigningKey(std::string_view secret, std::string_view date_stamp, std::string_view region,
                       std::string_view service) {
  std::string key = HmacSha256("AWS4" + std::string(secret), date_stamp);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

std::string Signature(const Request& request, const Credentials& credentials, std::string_view amz_date,
                      std::string_view region, std::string_view service) {
  RQ_ASSERT(amz_date.size() == 16);
  std::string to_sign = StringToSign(amz_date, region, service, CanonicalRequest(request));
  std::string key = SigningKey(credentials.secret_access_key, DateStamp(amz_date), region, service);
  return HexEncode(HmacSha256(key, to_sign));
}

std::string Authorization(const Request& request, const Credentials& credentials, std::string_view amz_date,
                          std::string_view region, std::string_view service) {
  std::string scope = DateStamp(amz_date) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
         ",SignedHeaders=" + SignedHeaders(request) +
         ",Signature=" + Signature(request, credentials, amz_date, region, service);
}

}  // namespace rq::backup::sigv4
