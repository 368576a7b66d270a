// http::Server: rqlite's HTTP(S) API on Boost.Asio + Beast. It owns a small
// fixed pool of I/O threads (Config::threads), accepts HTTP/1.1 keep-alive
// connections, reads each request whole (bounded by max_body_bytes; /boot
// bodies stream to a temp file instead), hands it to Handler and writes the
// reply. A request whose body did not arrive whole is never passed on.
//
// Ownership: the Backend must outlive the Server and must not complete a
// call after Stop() returned. Thread-safety: LoadAuthFile before Start;
// Start/Stop from one controlling thread; port() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "http/backend.h"

namespace rq::http {

struct Config {
  std::string address = "127.0.0.1";  // host or IP to bind
  uint16_t port = 4001;               // 0 picks a free port (tests)
  int threads = 2;                    // I/O threads
  uint64_t max_body_bytes = 64ULL << 20;  // larger bodies get 400 (rqlite has no 413)
  std::chrono::seconds read_timeout{30};    // header and body of one request, and keep-alive idle
  std::chrono::seconds write_timeout{300};  // one response (backups can be large)
  std::chrono::seconds stop_grace{5};       // Stop() waits this long for requests in flight
  std::string version = "v10.0.0";          // X-RQLITE-VERSION
  std::string allow_origin;                 // Access-Control-Allow-Origin
  std::string temp_dir;                     // /boot uploads, gzip'd backups; "" = system temp
  // HTTPS when both are set; both files are re-read when their mtime changes.
  std::string cert_file;
  std::string key_file;
  std::string ca_file;         // client CA for verify_client
  bool verify_client = false;  // mutual TLS: refuse clients without a valid cert
  // -http-verify-common-name: with verify_client, the client certificate's
  // subject CN must be exactly this.
  std::string verify_common_name;

  Status Validate() const;
};

class Server {
 public:
  Server(Config config, Backend* backend);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // -auth file (API.md 4.9). REQUIRES: before Start().
  Status LoadAuthFile(const std::string& path);
  // Binds and starts the I/O threads. IOError naming the address when it is
  // in use; InvalidArgument for a bad config or unreadable TLS files.
  Status Start();
  // Stops accepting, lets requests in flight finish (up to stop_grace),
  // closes idle connections and joins the threads. Idempotent.
  void Stop();
  // The bound port (useful after binding port 0). REQUIRES: Start() succeeded.
  uint16_t port() const;

  struct Impl;  // opaque: defined in server.cc, public only for its sessions

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rq::http
