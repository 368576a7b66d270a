// client::Api: the request/response model the shell uses to talk to rqlited,
// and the abstract interface behind it (HttpClient is the real one; tests
// substitute a fake).
//
// Ownership: Request and Response are plain values. An Api implementation is
// owned by its creator; the shell only borrows it.
// Thread-safety: an Api instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"

namespace rq::client {

enum class Method { kGet, kPost, kDelete };

// Called with the bytes moved so far and the total (0 when unknown).
using ProgressFn = std::function<void(uint64_t bytes_done, uint64_t bytes_total)>;

struct Request {
  Method method = Method::kGet;
  // Relative to the URL prefix, e.g. "db/request?timings". When absolute_url
  // is set it is a whole URL instead ("http://10.0.0.2:4001/status").
  std::string target;
  bool absolute_url = false;
  std::string body;
  std::string content_type;
  // When set, the request body is streamed from this file (body is ignored).
  std::string body_file;
  // When set, a 200 response body is streamed into this file, never held
  // in memory; other statuses keep their (small) body in Response::body.
  std::string response_file;
  // Boot and restore run without the HTTP timeout (rqlite 10.2.3).
  bool no_timeout = false;
  ProgressFn progress;
};

struct Response {
  int status = 0;
  std::string reason;        // "Service Unavailable"
  std::string body;          // empty when streamed to Request::response_file
  std::string version;       // X-RQLITE-VERSION header, if any
  std::string content_type;
  uint64_t body_bytes = 0;   // bytes received (also when streamed to a file)

  // "503 Service Unavailable", as Go's resp.Status prints it.
  std::string StatusLine() const;
};

class Api {
 public:
  virtual ~Api() = default;
  // One request, following leader redirects and failing over to
  // alternative hosts when the current one cannot be reached. Transport
  // failures are a non-OK Status; any HTTP status is a Response.
  virtual Result<Response> Send(const Request& request) = 0;
  // "host:port" of the node currently in use.
  virtual std::string current_host() const = 0;
  // "http://host:port".
  virtual std::string current_url() const = 0;
};

}  // namespace rq::client
