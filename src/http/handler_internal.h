// Private to handler*.cc: the state of one request in flight and the small
// reply builders the endpoint handlers share. Not part of the module's API.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "http/handler.h"

namespace rq::http {

// One request in flight; shared by the callbacks of its backend call.
struct Handler::Call {
  HttpRequest request;
  std::string path;
  std::string raw_query;
  QueryParams params;
  ReplyFn done;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool served_by = false;  // data, backup, load, remove and stepdown replies
};

namespace internal {

inline constexpr std::string_view kJsonType = "application/json; charset=utf-8";

// Non-200 bodies: plain text with a trailing newline, as Go's http.Error.
HttpReply PlainReply(int status, std::string_view message);
HttpReply JsonReply(std::string body);
HttpReply RedirectReply(int status, std::string location);
bool IsTextPlain(std::string_view content_type);
// A fresh path in dir (or the system temp dir) starting with stem.
std::string TempPath(const std::string& dir, std::string_view stem);
Result<std::string> GzipFile(const std::string& source, const std::string& temp_dir);
boost::json::value SelectPath(const boost::json::value& root, std::string_view dotted_path);

}  // namespace internal
}  // namespace rq::http
