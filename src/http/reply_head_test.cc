// BuildReplyHead against Boost.Beast's own serializer: for every reply, the
// bytes must be what a response<string_body> filled field by field with
// set(), then keep_alive() and prepare_payload(), serializes to (which is
// how server.cc wrote every reply before).
#include "http/reply_head.h"

#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include <sstream>

#include "base/random.h"

namespace rq::http {
namespace {

namespace bhttp = boost::beast::http;

std::string BeastBytes(const HttpReply& reply, bool keep_alive) {
  bhttp::response<bhttp::string_body> response;
  response.result(static_cast<unsigned>(reply.status));
  for (const auto& [name, value] : reply.headers) response.set(CanonicalHeaderName(name), value);
  response.keep_alive(keep_alive);
  response.body() = reply.body;
  response.prepare_payload();
  std::ostringstream out;
  out << response;
  return out.str();
}

std::string OurBytes(const HttpReply& reply, bool keep_alive) {
  std::string head;
  BuildReplyHead(reply, keep_alive, &head);
  return head + (ReplyIsBodiless(reply.status) ? "" : reply.body);
}

TEST(ReplyHeadTest, NamesAreInGosCanonicalCase) {
  EXPECT_EQ(CanonicalHeaderName("X-RQLITE-VERSION"), "X-Rqlite-Version");
  EXPECT_EQ(CanonicalHeaderName("content-type"), "Content-Type");
  EXPECT_EQ(CanonicalHeaderName("WWW-Authenticate"), "Www-Authenticate");
  EXPECT_EQ(CanonicalHeaderName("x-1a-b2"), "X-1a-B2");
  EXPECT_EQ(CanonicalHeaderName("-a--b"), "-A--B");
  EXPECT_EQ(CanonicalHeaderName("\xe9t\xc9"), "\xe9t\xc9");  // bytes past ASCII stay as they are
}

TEST(ReplyHeadTest, TheRepliesWeSendAreWhatBeastWrites) {
  HttpReply query{200, {{"Content-Type", "application/json; charset=utf-8"},
                        {"X-RQLITE-VERSION", "v10.0.0"},
                        {"Access-Control-Allow-Methods", "OPTIONS, GET, POST"}},
                  R"({"results":[{"columns":["id"],"types":["integer"],"values":[[1]]}]})", ""};
  HttpReply empty_unauthorized{401, {{"WWW-Authenticate", "Basic realm=\"rqlite\""}}, "", ""};
  HttpReply redirect{301, {{"location", "http://127.0.0.1:4003/db/execute"}}, "", ""};
  HttpReply no_content{204, {{"X-RQLITE-VERSION", "v10.0.0"}}, "", ""};
  HttpReply not_modified{304, {}, "", ""};
  HttpReply unknown_status{599, {}, "x", ""};
  for (const HttpReply* reply : {&query, &empty_unauthorized, &redirect, &no_content, &not_modified, &unknown_status}) {
    for (bool keep_alive : {true, false}) {
      EXPECT_EQ(OurBytes(*reply, keep_alive), BeastBytes(*reply, keep_alive)) << reply->status << " " << keep_alive;
    }
  }
}

// Duplicate names in any case, names already canonical or not, many
// statuses: the replacement rule and its order must match set()'s.
TEST(ReplyHeadTest, RandomFieldsAndStatusesMatchBeast) {
  const char* const names[] = {"x-rqlite-version", "X-RQLITE-VERSION", "Content-Type", "content-type",
                               "Location",         "x-a",              "X-A",          "Retry-After"};
  const int statuses[] = {200, 201, 202, 204, 301, 302, 304, 307, 400, 401, 403, 404, 405, 408, 413,
                          415, 429, 431, 500, 501, 503, 504, 100, 101, 418, 299, 999};
  Random random(7);
  for (int round = 0; round < 2000; ++round) {
    HttpReply reply;
    reply.status = statuses[random.Uniform(std::size(statuses))];
    const uint64_t fields = random.Uniform(6);
    for (uint64_t i = 0; i < fields; ++i) {
      const char* const pads[] = {"", " ", "\t", "  \t"};
      std::string value = pads[random.Uniform(4)] + ("v " + std::to_string(i)) + pads[random.Uniform(4)];
      if (random.Uniform(8) == 0) value = pads[random.Uniform(4)];  // nothing but spaces, or empty
      reply.headers.emplace_back(names[random.Uniform(std::size(names))], value);
    }
    if (!ReplyIsBodiless(reply.status)) reply.body = std::string(random.Uniform(40), 'b');
    const bool keep_alive = random.Uniform(2) == 0;
    ASSERT_EQ(OurBytes(reply, keep_alive), BeastBytes(reply, keep_alive)) << "round " << round;
  }
}

}  // namespace
}  // namespace rq::http
