#include "base/json_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/assert.h"

namespace rq {

std::string FormatGoFloat(double value) {
  if (!std::isfinite(value)) return "null";
  const double magnitude = std::fabs(value);
  const bool exponent_form = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21);
  char buffer[64];
  const auto format = exponent_form ? std::chars_format::scientific : std::chars_format::fixed;
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value, format);
  RQ_ASSERT(ec == std::errc());
  std::string text(buffer, end);
  // Go trims a leading zero from a two-digit negative exponent: 1e-07 -> 1e-7.
  const size_t n = text.size();
  if (exponent_form && n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0') {
    text.erase(n - 2, 1);
  }
  return text;
}

void JsonWriter::NewlineIndent() {
  out_.push_back('\n');
  out_.append(stack_.size() * 4, ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  RQ_ASSERT(!stack_.back().is_object);
  if (stack_.back().count++ > 0) out_.push_back(',');
  if (pretty_) NewlineIndent();
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  stack_.push_back({true, 0});
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  stack_.push_back({false, 0});
}

void JsonWriter::Close(char bracket) {
  RQ_ASSERT(!stack_.empty());
  RQ_ASSERT(!after_key_);
  const bool had_members = stack_.back().count > 0;
  stack_.pop_back();
  if (pretty_ && had_members) NewlineIndent();
  out_.push_back(bracket);
}

void JsonWriter::EndObject() {
  RQ_ASSERT(!stack_.empty() && stack_.back().is_object);
  Close('}');
}

void JsonWriter::EndArray() {
  RQ_ASSERT(!stack_.empty() && !stack_.back().is_object);
  Close(']');
}

void JsonWriter::Key(std::string_view key) {
  RQ_ASSERT(!stack_.empty());
  RQ_ASSERT(stack_.back().is_object);
  RQ_ASSERT(!after_key_);
  if (stack_.back().count++ > 0) out_.push_back(',');
  if (pretty_) NewlineIndent();
  Escaped(key);
  out_.push_back(':');
  if (pretty_) out_.push_back(' ');
  after_key_ = true;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is invalid.
static size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  uint32_t code_point = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; k++) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) return 0;
  if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) return 0;
  return length;
}

void JsonWriter::Escaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Most text needs no escaping: copy each run of it at once.
    size_t plain = i;
    while (plain < text.size()) {
      const auto b = static_cast<unsigned char>(text[plain]);
      if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
      ++plain;
    }
    out_.append(text.data() + i, plain - i);
    i = plain;
    if (i == text.size()) break;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out_.append("\\ufffd");  // Go replaces invalid UTF-8 bytes
        i++;
        continue;
      }
      const std::string_view sequence = text.substr(i, length);
      if (sequence == "\xE2\x80\xA8" || sequence == "\xE2\x80\xA9") {
        out_.append(sequence == "\xE2\x80\xA8" ? "\\u2028" : "\\u2029");
      } else {
        out_.append(sequence);
      }
      i += length;
      continue;
    }
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      case '\b': out_.append("\\b"); break;
      case '\f': out_.append("\\f"); break;
      default:
        if (c < 0x20) {
          out_.append("\\u00");
          out_.push_back(kHex[c >> 4]);
          out_.push_back(kHex[c & 0xF]);
        } else {
          out_.push_back(static_cast<char>(c));
        }
    }
    i++;
  }
  out_.push_back('"');
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  Escaped(value);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
}

void JsonWriter::Double(double value) {
  BeforeValue();
  out_.append(FormatGoFloat(value));
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

void JsonWriter::Value(const boost::json::value& value, bool sort_keys) {
  switch (value.kind()) {
    case boost::json::kind::null: Null(); return;
    case boost::json::kind::bool_: Bool(value.get_bool()); return;
    case boost::json::kind::int64: Int(value.get_int64()); return;
    case boost::json::kind::uint64: Uint(value.get_uint64()); return;
    case boost::json::kind::double_: Double(value.get_double()); return;
    case boost::json::kind::string: String(value.get_string()); return;
    case boost::json::kind::array:
      BeginArray();
      for (const auto& element : value.get_array()) Value(element, sort_keys);
      EndArray();
      return;
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      std::vector<const boost::json::key_value_pair*> members;
      members.reserve(object.size());
      for (const auto& member : object) members.push_back(&member);
      if (sort_keys) {
        std::sort(members.begin(), members.end(),
                  [](auto* a, auto* b) { return a->key() < b->key(); });
      }
      BeginObject();
      for (const auto* member : members) {
        Key(member->key());
        Value(member->value(), sort_keys);
      }
      EndObject();
      return;
    }
  }
}

std::string ToGoJson(const boost::json::value& value, bool pretty, bool sort_keys) {
  JsonWriter writer(pretty);
  writer.Value(value, sort_keys);
  return writer.Take();
}

}  // namespace rq
