#include "http/request_parser.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <limits>
#include <optional>
#include <string>

namespace rq::http {
namespace {

namespace json = boost::json;

Status Unsupported() { return Status::InvalidArgument(kErrUnsupportedType); }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// x'CAFE' or X'cafe' with an even number of hex digits; anything else is
// plain text.
std::optional<command::Blob> HexBlob(std::string_view text) {
  if (text.size() < 3 || (text[0] != 'x' && text[0] != 'X') || text[1] != '\'' || text.back() != '\'') {
    return std::nullopt;
  }
  const std::string_view digits = text.substr(2, text.size() - 3);
  if (digits.size() % 2 != 0) return std::nullopt;
  command::Blob blob;
  blob.bytes.reserve(digits.size() / 2);
  for (size_t i = 0; i < digits.size(); i += 2) {
    const int high = HexDigit(digits[i]);
    const int low = HexDigit(digits[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    blob.bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return blob;
}

// An array of integers 0-255 is a BLOB; anything else in it is unsupported.
Result<command::Value> ByteArrayBlob(const json::array& array) {
  command::Blob blob;
  blob.bytes.reserve(array.size());
  for (const json::value& element : array) {
    int64_t byte = -1;
    if (element.is_int64()) byte = element.get_int64();
    if (element.is_uint64() && element.get_uint64() <= 255) byte = static_cast<int64_t>(element.get_uint64());
    if (byte < 0 || byte > 255) return Unsupported();
    blob.bytes.push_back(static_cast<char>(byte));
  }
  return command::Value(std::move(blob));
}

Result<command::Value> ConvertValue(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return command::Value(std::monostate{});
    case json::kind::bool_: return command::Value(value.get_bool());
    case json::kind::int64: return command::Value(value.get_int64());
    // Past int64: Go's Number.Int64 fails and rqlite falls back to float64.
    case json::kind::uint64: return command::Value(static_cast<double>(value.get_uint64()));
    case json::kind::double_: return command::Value(value.get_double());
    case json::kind::string: {
      const std::string_view text = value.get_string();
      if (auto blob = HexBlob(text)) return command::Value(std::move(*blob));
      return command::Value(std::string(text));
    }
    case json::kind::array: return ByteArrayBlob(value.get_array());
    case json::kind::object: return Unsupported();
  }
  return Unsupported();
}

Status AppendNamedParameters(const json::object& object, command::Statement* statement) {
  for (const auto& member : object) {
    Result<command::Value> value = ConvertValue(member.value());
    if (!value.ok()) return value.status();
    statement->parameters.push_back({std::string(member.key()), std::move(value).value()});
  }
  return Status::OK();
}

Result<command::Statement> ParseStatementArray(const json::array& array) {
  if (array.empty() || !array[0].is_string()) return Status::InvalidArgument(kErrInvalidRequest);
  command::Statement statement;
  statement.sql = std::string(array[0].get_string());
  for (size_t i = 1; i < array.size(); i++) {
    const json::value& element = array[i];
    // An object is only meaningful as the single parameter set.
    if (element.is_object()) {
      if (array.size() != 2) return Unsupported();
      RQ_RETURN_IF_ERROR(AppendNamedParameters(element.get_object(), &statement));
      continue;
    }
    Result<command::Value> value = ConvertValue(element);
    if (!value.ok()) return value.status();
    statement.parameters.push_back({"", std::move(value).value()});
  }
  return statement;
}

}  // namespace

Result<command::Request> ParseJsonRequest(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  options.allow_invalid_utf8 = true;  // Go accepts it too
  json::value root = json::parse(body, ec, json::storage_ptr(), options);
  if (ec) return Status::InvalidArgument(kErrInvalidJson);
  if (!root.is_array()) return Status::InvalidArgument(kErrInvalidRequest);
  const json::array& elements = root.get_array();
  if (elements.empty()) return Status::InvalidArgument(kErrNoStatements);
  command::Request request;
  request.statements.reserve(elements.size());
  for (const json::value& element : elements) {
    if (element.is_string()) {
      request.statements.push_back({std::string(element.get_string()), {}, false});
    } else if (element.is_array()) {
      Result<command::Statement> statement = ParseStatementArray(element.get_array());
      if (!statement.ok()) return statement.status();
      request.statements.push_back(std::move(statement).value());
    } else {
      return Status::InvalidArgument(kErrInvalidRequest);
    }
  }
  return request;
}

Result<command::Request> ParsePlainRequest(std::string_view body) {
  if (body.empty()) return Status::InvalidArgument(kErrNoStatements);
  command::Request request;
  request.statements.push_back({std::string(body), {}, false});
  return request;
}

}  // namespace rq::http
