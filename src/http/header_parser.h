// The parser the server reads every request head with, and its limits.
// Shared with the wire fuzzer (FuzzHttpWire) so that fuzzing meets the same
// Beast code and the same limits as a client does.
#pragma once

#include <cstddef>
#include <cstdint>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace rq::http {

// Go's http.Server default (DefaultMaxHeaderBytes): long GET ?q= queries fit.
inline constexpr uint32_t kHeaderBytesMax = 1 << 20;
// Beast keeps a field's name and value lengths in 16 bits.
inline constexpr size_t kFieldBytesMax = 65000;

// Beast throws std::length_error for a longer field from inside the read,
// where no handler of ours could answer. This parser refuses such a field
// with header_limit instead, so the client gets a 431 like any other
// oversized header.
class HeaderParser : public boost::beast::http::request_parser<boost::beast::http::empty_body> {
 public:
  HeaderParser() {
    body_limit(boost::none);  // Content-Length is checked by hand after the head, per route
    header_limit(kHeaderBytesMax);
  }

 private:
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override {
    if (name_string.size() > kFieldBytesMax || value.size() > kFieldBytesMax) {
      ec = boost::beast::http::error::header_limit;
      return;
    }
    get().insert(name, name_string, value);
  }
};

// Fuzzing entry: `data` as the bytes a client sent, read by HeaderParser and
// handed to a Handler over a fake backend, as the server does. Checks that
// nothing throws, that a head Beast accepts gets exactly one reply, and
// that the reply's status is a real one.
void FuzzHttpWire(const uint8_t* data, size_t size);

}  // namespace rq::http
