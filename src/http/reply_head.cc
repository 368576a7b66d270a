#include "http/reply_head.h"

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <string_view>

namespace rq::http {
namespace {

// ASCII only, as Go's CanonicalMIMEHeaderKey, and without the C library's
// locale look-up per character.
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

void AppendCanonicalName(std::string_view name, std::string* out) {
  const size_t start = out->size();
  out->append(name);
  bool upper = true;
  for (size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    c = upper ? AsciiUpper(c) : AsciiLower(c);
    upper = c == '-';
  }
}

// Leading and trailing spaces and tabs are not part of a field value
// (RFC 9110 5.5); Beast's set() and Go's Header.Write drop them too.
std::string_view TrimmedValue(std::string_view value) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && space(value.front())) value.remove_prefix(1);
  while (!value.empty() && space(value.back())) value.remove_suffix(1);
  return value;
}

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

}  // namespace

std::string CanonicalHeaderName(std::string_view name) {
  std::string canonical;
  canonical.reserve(name.size());
  AppendCanonicalName(name, &canonical);
  return canonical;
}

bool ReplyIsBodiless(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

void BuildReplyHead(const HttpReply& reply, bool keep_alive, std::string* head) {
  head->clear();
  const auto status = static_cast<unsigned>(reply.status);
  head->append("HTTP/1.1 ");
  head->append(std::to_string(status));
  head->push_back(' ');
  const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  head->append(reason.data(), reason.size());
  head->append("\r\n");
  const auto& fields = reply.headers;
  for (size_t i = 0; i < fields.size(); ++i) {
    bool replaced = false;
    for (size_t j = i + 1; j < fields.size() && !replaced; ++j) replaced = SameName(fields[i].first, fields[j].first);
    if (replaced) continue;
    AppendCanonicalName(fields[i].first, head);
    head->append(": ");
    head->append(TrimmedValue(fields[i].second));
    head->append("\r\n");
  }
  if (!keep_alive) head->append("Connection: close\r\n");
  head->append("Content-Length: ");
  head->append(std::to_string(ReplyIsBodiless(reply.status) ? 0 : reply.body.size()));
  head->append("\r\n\r\n");
}

}  // namespace rq::http
