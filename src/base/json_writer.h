// JsonWriter: a streaming JSON encoder that prints exactly what Go's
// encoding/json prints for rqlite's responses (float64 formatting, no HTML
// escaping, MarshalIndent with four spaces under ?pretty).
//
// Boost.JSON's serializer cannot do this (it prints 3.0 as "3E0" and has no
// indentation), hence this small writer. Owns its output string.
// Thread-safety: none; one writer per response.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rq {

// Go's strconv.FormatFloat(f, 'f' or 'e', -1, 64) as encoding/json chooses
// it: shortest round-trip digits, 'e' only below 1e-6 or from 1e21 up.
// NaN and infinities (which Go refuses to encode) become "null".
std::string FormatGoFloat(double value);

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty) : pretty_(pretty) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // REQUIRES: inside an object, before the member's value.
  void Key(std::string_view key);

  void String(std::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);
  void Bool(bool value);
  void Null();
  // Objects print their keys sorted when sort_keys is set, as Go does for
  // map[string]interface{}; otherwise in stored order.
  void Value(const boost::json::value& value, bool sort_keys);

  // The finished document. REQUIRES: every Begin has its End.
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  struct Level {
    bool is_object = false;
    int64_t count = 0;
  };
  void BeforeValue();
  void Close(char bracket);
  void NewlineIndent();
  void Escaped(std::string_view text);

  bool pretty_;
  bool after_key_ = false;
  std::vector<Level> stack_;
  std::string out_;
};

// Convenience: a whole boost::json value as Go would print it.
std::string ToGoJson(const boost::json::value& value, bool pretty, bool sort_keys);

}  // namespace rq
