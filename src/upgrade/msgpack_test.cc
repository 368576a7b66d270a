// msgpack decoding: every type byte family, go-msgpack's raw strings, and
// the malformed-input specification.
#include "upgrade/msgpack.h"

#include <gtest/gtest.h>

#include <string>

#include "upgrade/bolt_test_util.h"

namespace rq::upgrade {
namespace {

std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

MsgpackValue Must(const std::string& input) {
  Result<MsgpackValue> v = DecodeMsgpack(input);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : MsgpackValue{};
}

TEST(MsgpackTest, IntegersOfEveryWidth) {
  EXPECT_EQ(Must(B({0x05})).AsUint(), 5u);
  EXPECT_EQ(Must(B({0xcc, 0xe2})).AsUint(), 0xe2u);
  EXPECT_EQ(Must(B({0xcd, 0x01, 0x0b})).AsUint(), 0x10bu);
  EXPECT_EQ(Must(B({0xce, 0x01, 0x02, 0x03, 0x04})).AsUint(), 0x01020304u);
  EXPECT_EQ(Must(B({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})).AsUint(), UINT64_MAX);
  EXPECT_EQ(Must(B({0xff})).AsInt(), -1);
  EXPECT_EQ(Must(B({0xd0, 0x80})).AsInt(), -128);
  EXPECT_EQ(Must(B({0xd1, 0xff, 0x00})).AsInt(), -256);
  EXPECT_EQ(Must(B({0xd2, 0x00, 0x00, 0x00, 0x07})).AsUint(), 7u);  // non-negative signed reads as unsigned
  EXPECT_EQ(Must(B({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})).AsInt(), INT64_MIN);
  EXPECT_FALSE(Must(B({0xff})).AsUint().has_value());
  EXPECT_FALSE(Must(B({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})).AsInt().has_value());
}

TEST(MsgpackTest, NilBoolFloat) {
  EXPECT_TRUE(Must(B({0xc0})).is_nil());
  EXPECT_TRUE(Must(B({0xc3})).boolean);
  EXPECT_FALSE(Must(B({0xc2})).boolean);
  EXPECT_EQ(Must(B({0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18})).float_value, 3.141592653589793);
  EXPECT_EQ(Must(B({0xca, 0x3f, 0x80, 0x00, 0x00})).float_value, 1.0);
}

TEST(MsgpackTest, OldSpecRawAndNewSpecBinAreBothBytes) {
  EXPECT_EQ(Must(B({0xa3, 'a', 'b', 'c'})).AsBytes(), "abc");
  EXPECT_EQ(Must(B({0xd9, 0x02, 'h', 'i'})).AsBytes(), "hi");
  EXPECT_EQ(Must(B({0xda, 0x00, 0x01, 'x'})).AsBytes(), "x");
  EXPECT_EQ(Must(B({0xdb, 0, 0, 0, 1, 'y'})).AsBytes(), "y");
  EXPECT_EQ(Must(B({0xc4, 0x01, 0x00})).AsBytes(), std::string(1, '\0'));
  EXPECT_EQ(Must(B({0xc5, 0x00, 0x00})).AsBytes(), "");
  EXPECT_EQ(Must(B({0xc6, 0, 0, 0, 1, 'z'})).AsBytes(), "z");
}

TEST(MsgpackTest, MapsArraysAndExt) {
  testing::MsgpackWriter w;
  w.Map(2).Str("Index").Uint(300).Str("List").Array(2).Uint(1).Str("two");
  MsgpackValue v = Must(w.bytes());
  ASSERT_EQ(v.kind, MsgpackValue::Kind::kMap);
  EXPECT_EQ(v.Find("Index")->AsUint(), 300u);
  EXPECT_EQ(v.Find("List")->items.size(), 2u);
  EXPECT_EQ(v.Find("nope"), nullptr);
  MsgpackValue ext = Must(B({0xd6, 0xff, 0x6b, 0x15, 0xb4, 0x3e}));
  EXPECT_EQ(ext.kind, MsgpackValue::Kind::kExt);
  EXPECT_EQ(ext.ext_type, -1);
  EXPECT_EQ(ext.bytes.size(), 4u);
  EXPECT_EQ(Must(B({0xc7, 0x01, 0x05, 0xaa})).ext_type, 5);
  EXPECT_EQ(Must(B({0xdc, 0x00, 0x01, 0x01})).items.size(), 1u);
  EXPECT_EQ(Must(B({0xde, 0x00, 0x01, 0xa1, 'k', 0x01})).Find("k")->AsUint(), 1u);
}

TEST(MsgpackTest, TruncatedInputIsCorruption) {
  testing::MsgpackWriter w;
  w.Map(2).Str("Data").Str(std::string(100, 'd')).Str("Index").Uint(1 << 20);
  const std::string& full = w.bytes();
  ASSERT_TRUE(DecodeMsgpack(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_TRUE(DecodeMsgpack(full.substr(0, n)).status().IsCorruption()) << n;
  }
}

TEST(MsgpackTest, TrailingBytesAreCorruption) {
  EXPECT_TRUE(DecodeMsgpack(B({0x01, 0x02})).status().IsCorruption());
  std::string_view in("\x01\x02", 2);
  ASSERT_TRUE(DecodeMsgpackPrefix(&in).ok());
  EXPECT_EQ(in.size(), 1u);
}

TEST(MsgpackTest, HugeDeclaredCountsAreRefusedBeforeAllocating) {
  EXPECT_TRUE(DecodeMsgpack(B({0xdd, 0xff, 0xff, 0xff, 0xff})).status().IsCorruption());
  EXPECT_TRUE(DecodeMsgpack(B({0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01})).status().IsCorruption());
  EXPECT_TRUE(DecodeMsgpack(B({0xdb, 0xff, 0xff, 0xff, 0xff, 'x'})).status().IsCorruption());
  EXPECT_TRUE(DecodeMsgpack(B({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01})).status().IsCorruption());
}

TEST(MsgpackTest, DeepNestingIsRefused) {
  std::string deep(1000, '\x91');
  deep.push_back('\x01');
  Status s = DecodeMsgpack(deep).status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("deeper"), std::string::npos);
  std::string ok(msgpack_limits::kDepthMax, '\x91');
  ok.push_back('\x01');
  EXPECT_TRUE(DecodeMsgpack(ok).ok());
}

TEST(MsgpackTest, ReservedTypeByteIsCorruption) {
  EXPECT_TRUE(DecodeMsgpack(B({0xc1})).status().IsCorruption());
  EXPECT_TRUE(DecodeMsgpack("").status().IsCorruption());
}

}  // namespace
}  // namespace rq::upgrade
