// What the Consul and etcd clients share: one bounded HTTP(S) exchange
// with a KV service, and the helpers that read -disco-config's JSON and
// the services' answers. Internal to disco/.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "base/status.h"
#include "disco/kv_client.h"

namespace rq::disco::internal {

// An answer body in an error message: short, one line.
std::string Snippet(std::string_view body);
// Unavailable naming `what` when the service answered something not JSON.
Result<boost::json::value> ParseJson(std::string_view text, const std::string& what);
// Percent-encodes a key for a URL path; '/' separates Consul key segments.
std::string EscapePath(std::string_view key);

struct HttpCall {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// Every asynchronous step runs under the tcp_stream's deadline, so the
// whole exchange ends within `timeout` (name resolution aside).
Result<HttpAnswer> Exchange(const HttpEndpoint& endpoint, const TlsSettings& tls, const HttpCall& call,
                            std::chrono::milliseconds timeout);

// -disco-config fields. Reads an optional string or bool field; a value of
// another type is an error naming `where` and the field.
Status ReadString(const boost::json::object& object, const char* field, const std::string& where, std::string* out);
Status ReadBool(const boost::json::object& object, const char* field, const std::string& where, bool* out);
// The whole -disco-config: empty means {}, anything else must be an object.
Result<boost::json::object> ParseConfigObject(std::string_view text, const std::string& mode);
// A token file's contents without trailing whitespace; *ok false if unreadable.
std::string ReadTrimmedFile(const std::string& path, bool* ok);

}  // namespace rq::disco::internal
