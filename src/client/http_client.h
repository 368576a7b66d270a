// HttpClient: a blocking HTTP(S) client for rqlite's API (Boost.Beast).
//
// It keeps one keep-alive connection to the current host, follows leader
// redirects (301, at most 21 like rqlite's shell), and when the current host
// cannot be reached it fails over to the next of the alternatives, which then
// becomes the current host. TLS uses OpenSSL with an optional CA file, an
// optional client certificate and key (mTLS), or no verification at all
// (insecure). Request and response bodies can be streamed from/to files.
//
// Ownership: owns its io_context, TLS context and connection.
// Thread-safety: none; one thread uses an instance at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/api.h"

namespace rq::client {

struct ClientOptions {
  std::string scheme = "http";            // "http" or "https"
  std::vector<std::string> hosts;         // "host:port"; [0] first, then alternatives
  std::string prefix = "/";               // URL prefix, for use behind a proxy
  bool insecure = false;                  // skip TLS certificate verification
  std::string ca_cert_path;
  std::string client_cert_path;
  std::string client_key_path;
  std::string basic_auth;                 // "user:pass", empty for none
  std::chrono::milliseconds timeout{30000};  // per I/O step; 0 = none
};

// "/x" -> "/x/", "" -> "/": the prefix always starts and ends with '/'.
std::string NormalizePrefix(std::string_view prefix);

// Splits "host:port" (or "[v6]:port"); the port defaults by scheme.
struct HostPort {
  std::string host;
  std::string port;
};
Result<HostPort> SplitHostPort(std::string_view address, std::string_view scheme);

class HttpClient final : public Api {
 public:
  // Fails on bad options: no hosts, unknown scheme, unreadable certificates,
  // credentials not of the form user:pass.
  static Result<std::unique_ptr<HttpClient>> Create(ClientOptions options);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<Response> Send(const Request& request) override;
  std::string current_host() const override;
  std::string current_url() const override;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rq::client
