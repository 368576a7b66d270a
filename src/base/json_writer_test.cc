#include "base/json_writer.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "base/random.h"

namespace rq {
namespace {

TEST(GoFloatTest, WholeNumbersPrintWithoutFraction) {
  EXPECT_EQ(FormatGoFloat(3.0), "3");
  EXPECT_EQ(FormatGoFloat(-2.0), "-2");
  EXPECT_EQ(FormatGoFloat(0.0), "0");
  EXPECT_EQ(FormatGoFloat(1e20), "100000000000000000000");
}

TEST(GoFloatTest, FractionsUseShortestRoundTripDigits) {
  EXPECT_EQ(FormatGoFloat(1.5), "1.5");
  EXPECT_EQ(FormatGoFloat(0.1), "0.1");
  EXPECT_EQ(FormatGoFloat(3.14159), "3.14159");
  EXPECT_EQ(FormatGoFloat(0.000001), "0.000001");
}

TEST(GoFloatTest, ExtremesUseExponentFormLikeGo) {
  EXPECT_EQ(FormatGoFloat(1e21), "1e+21");
  EXPECT_EQ(FormatGoFloat(1e-7), "1e-7");
  EXPECT_EQ(FormatGoFloat(1.5e-10), "1.5e-10");
  EXPECT_EQ(FormatGoFloat(-2.5e300), "-2.5e+300");
}

TEST(GoFloatTest, NonFiniteBecomesNull) {
  EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(FormatGoFloat(std::nan("")), "null");
}

TEST(JsonWriterTest, CompactOutputHasNoSpaces) {
  JsonWriter writer(false);
  writer.BeginObject();
  writer.Key("a");
  writer.BeginArray();
  writer.Int(1);
  writer.String("x");
  writer.EndArray();
  writer.Key("b");
  writer.BeginObject();
  writer.EndObject();
  writer.EndObject();
  EXPECT_EQ(writer.str(), R"({"a":[1,"x"],"b":{}})");
}

TEST(JsonWriterTest, PrettyIndentsFourSpacesLikeMarshalIndent) {
  JsonWriter writer(true);
  writer.BeginObject();
  writer.Key("results");
  writer.BeginArray();
  writer.BeginObject();
  writer.Key("n");
  writer.Int(1);
  writer.EndObject();
  writer.EndArray();
  writer.Key("empty");
  writer.BeginArray();
  writer.EndArray();
  writer.EndObject();
  EXPECT_EQ(writer.str(), "{\n    \"results\": [\n        {\n            \"n\": 1\n        }\n    ],\n"
                          "    \"empty\": []\n}");
}

TEST(JsonWriterTest, StringsAreNotHtmlEscaped) {
  JsonWriter writer(false);
  writer.String("<a href=\"x\">&</a>");
  EXPECT_EQ(writer.str(), R"("<a href=\"x\">&</a>")");
}

TEST(JsonWriterTest, ControlCharactersAndInvalidUtf8AreEscapedLikeGo) {
  JsonWriter writer(false);
  writer.String(std::string("a\nb\t\x01\\\xff", 7) + "\xE2\x80\xA8" + "\xC3\xA9");
  EXPECT_EQ(writer.str(), "\"a\\nb\\t\\u0001\\\\\\ufffd\\u2028\xC3\xA9\"");
}

// Go's encoding/json string escaping without HTML escaping, byte by byte:
// what Escaped did before it copied plain runs at once.
std::string ReferenceEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
      uint32_t code = length == 2 ? (c & 0x1F) : length == 3 ? (c & 0x0F) : (c & 0x07);
      bool valid = length > 0 && i + length <= text.size();
      for (size_t k = 1; valid && k < length; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        valid = (b & 0xC0) == 0x80;
        code = (code << 6) | (b & 0x3F);
      }
      if (valid && length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) valid = false;
      if (valid && length == 4 && (code < 0x10000 || code > 0x10FFFF)) valid = false;
      if (!valid) {
        out += "\\ufffd";
        ++i;
      } else {
        out += code == 0x2028 ? "\\u2028" : code == 0x2029 ? "\\u2029" : std::string(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out + "\"";
}

// Random bytes, dense in what needs escaping: every string must parse back
// (Boost.JSON) to the text with each invalid UTF-8 byte as U+FFFD, and a
// run of plain bytes between escapes must come out unchanged.
TEST(JsonWriterTest, RandomBytesRoundTripWithInvalidUtf8Replaced) {
  Random random(11);
  const char pieces[][5] = {"a", "Z", " ", "\"", "\\", "\n", "\x01", "\x1f", "\x7f", "\xff", "\xc3\xa9",
                            "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3",
                            "\xed\xa0\x80", "\b", "\f", "\r", "\t", "<&>"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    std::string expected;
    const uint64_t count = random.Uniform(12);
    for (uint64_t i = 0; i < count; ++i) {
      const std::string piece = pieces[random.Uniform(std::size(pieces))];
      text += piece;
    }
    // What Go's encoder makes of it: valid sequences kept, each byte of an
    // invalid one replaced.
    for (size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      size_t length = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
      bool valid = length > 0 && i + length <= text.size();
      for (size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
      if (valid && length == 3 && c == 0xED && static_cast<unsigned char>(text[i + 1]) >= 0xA0) valid = false;
      if (!valid) {
        expected += "\xef\xbf\xbd";
        ++i;
        continue;
      }
      expected.append(text, i, length);
      i += length;
    }
    JsonWriter writer(false);
    writer.String(text);
    ASSERT_EQ(writer.str(), ReferenceEscape(text)) << round;
    const boost::json::value parsed = boost::json::parse(writer.str());
    ASSERT_TRUE(parsed.is_string()) << writer.str();
    ASSERT_EQ(std::string(parsed.as_string()), expected) << writer.str();
  }
}

TEST(JsonWriterTest, ValueSortsObjectKeysOnRequest) {
  const auto value = boost::json::parse(R"({"b":1,"a":{"d":2.0,"c":[true,null]}})");
  EXPECT_EQ(ToGoJson(value, false, true), R"({"a":{"c":[true,null],"d":2},"b":1})");
  EXPECT_EQ(ToGoJson(value, false, false), R"({"b":1,"a":{"d":2,"c":[true,null]}})");
}

}  // namespace
}  // namespace rq
