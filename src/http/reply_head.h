// The status line and header fields of a reply, written by hand in the
// bytes Boost.Beast's serializer writes for the same response: the
// serializer cost about a fifth of a point read's instructions (callgrind)
// for a few lines of text. server.cc sends this head and the body in one
// gathered write; file bodies (backups) still go through Beast.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "http/handler.h"

namespace rq::http {

// Go's net/http writes header names in canonical form (X-Rqlite-Version);
// clients should not care, but byte-for-byte captures then match.
std::string CanonicalHeaderName(std::string_view name);

// 1xx, 204 and 304 have no body (RFC 9110 6.4.1); server.cc drops one.
bool ReplyIsBodiless(int status);

// Replaces *head with: "HTTP/1.1 <status> <reason>", each of reply.headers
// once with its name in canonical case and its value without outer spaces (a later field of the same name, in
// any case, replaces an earlier one and takes its place, as Beast's set()
// does), "Connection: close" unless `keep_alive`, and Content-Length (0
// for a bodiless status: Beast writes it too); then the blank line.
void BuildReplyHead(const HttpReply& reply, bool keep_alive, std::string* head);

}  // namespace rq::http
