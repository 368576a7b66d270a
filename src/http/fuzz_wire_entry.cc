// FuzzHttpWire (header_parser.h): raw client bytes through the server's own
// head parser and limits, then the Handler over a fake backend, as
// server.cc's session does for every request.
#include <boost/asio/buffer.hpp>

#include <condition_variable>
#include <mutex>
#include <string>

#include "base/assert.h"
#include "http/auth.h"
#include "http/fake_backend_test_util.h"
#include "http/handler.h"
#include "http/header_parser.h"

namespace rq::http {

void FuzzHttpWire(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  HeaderParser parser;
  parser.eager(false);
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return;  // the server answers 400/431 or waits for more
  RQ_ASSERT(used <= size);

  const auto& header = parser.get();
  HttpRequest request;
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  request.content_type = std::string(header[bhttp::field::content_type]);
  request.authorization = std::string(header[bhttp::field::authorization]);
  // The body is what followed the head, up to Content-Length (the server
  // never hands on a body that did not arrive whole; a shorter one is cut).
  const size_t rest = size - used;
  const size_t length = static_cast<size_t>(std::min<uint64_t>(parser.content_length().value_or(rest), rest));
  request.body.assign(reinterpret_cast<const char*>(data) + used, length);

  testing::FakeBackend backend;
  AuthStore auth;
  std::mutex mu;
  std::condition_variable answered;
  int replies = 0;
  int status = 0;
  {
    Handler handler(HandlerConfig{}, &backend, &auth);
    handler.Handle(std::move(request), [&](HttpReply reply) {
      std::lock_guard lock(mu);
      ++replies;
      status = reply.status;
      answered.notify_all();
    });
    std::unique_lock lock(mu);
    answered.wait(lock, [&] { return replies > 0; });
  }  // ~Handler waits for calls on threads of their own
  RQ_ASSERT(replies == 1);
  RQ_ASSERT(status >= 200 && status < 600);
}

}  // namespace rq::http
