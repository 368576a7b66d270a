#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

#include "base/base64.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/go_format.h"
#include "base/random.h"
#include "base/status.h"
#include "base/contain.h"
#include "base/strong_types.h"
#include "base/thread_name.h"
#include "base/utf8.h"

namespace rq {
namespace {

// go-humanize's own cases (bytes_test.go), where kB = 1000 bytes.
TEST(HumanizeBytesTest, MatchesGoHumanizeBytes) {
  EXPECT_EQ(HumanizeBytes(0), "0 B");
  EXPECT_EQ(HumanizeBytes(1), "1 B");
  EXPECT_EQ(HumanizeBytes(9), "9 B");
  EXPECT_EQ(HumanizeBytes(10), "10 B");
  EXPECT_EQ(HumanizeBytes(803), "803 B");
  EXPECT_EQ(HumanizeBytes(999), "999 B");
  EXPECT_EQ(HumanizeBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanizeBytes(1024), "1.0 kB");
  EXPECT_EQ(HumanizeBytes(1500), "1.5 kB");
  EXPECT_EQ(HumanizeBytes(9999), "10 kB");
  EXPECT_EQ(HumanizeBytes(999999), "1000 kB");
  EXPECT_EQ(HumanizeBytes(1000000), "1.0 MB");
  EXPECT_EQ(HumanizeBytes(1024 * 1024), "1.0 MB");
  EXPECT_EQ(HumanizeBytes(82854982), "83 MB");
  EXPECT_EQ(HumanizeBytes(999999000), "1000 MB");
  EXPECT_EQ(HumanizeBytes(1000000000), "1.0 GB");
  EXPECT_EQ(HumanizeBytes(5500000000), "5.5 GB");
  EXPECT_EQ(HumanizeBytes(1000000000000), "1.0 TB");
  EXPECT_EQ(HumanizeBytes(1000000000000000), "1.0 PB");
  EXPECT_EQ(HumanizeBytes(1000000000000000000), "1.0 EB");
  EXPECT_EQ(HumanizeBytes(UINT64_MAX), "18 EB");
}

TEST(FormatRfc3339NanoTest, DropsTrailingZerosOfTheFraction) {
  using std::chrono::system_clock;
  const system_clock::time_point epoch;
  EXPECT_EQ(FormatRfc3339Nano(epoch), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Nano(epoch + std::chrono::milliseconds(1500)), "1970-01-01T00:00:01.5Z");
  EXPECT_EQ(FormatRfc3339Nano(epoch + std::chrono::seconds(1714558830) + std::chrono::microseconds(123456)),
            "2024-05-01T10:20:30.123456Z");
  EXPECT_EQ(FormatRfc3339Nano(epoch - std::chrono::milliseconds(250)), "1969-12-31T23:59:59.75Z");
}

TEST(Base64Test, EncodesWithPaddingAsRfc4648) {
  EXPECT_EQ(base64::Encode(""), "");
  EXPECT_EQ(base64::Encode("f"), "Zg==");
  EXPECT_EQ(base64::Encode("fo"), "Zm8=");
  EXPECT_EQ(base64::Encode("foo"), "Zm9v");
  EXPECT_EQ(base64::Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64::Encode(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(Base64Test, RoundTripsEveryPaddingLengthAndEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (const std::string& text : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"), all}) {
    auto decoded = base64::Decode(base64::Encode(text));
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, text);
  }
}

TEST(Base64Test, NonCanonicalTextIsRejected) {
  EXPECT_FALSE(base64::Decode("abc"));    // length
  EXPECT_FALSE(base64::Decode("ab$="));   // alphabet
  EXPECT_FALSE(base64::Decode("a==="));   // '=' where a digit must be
  EXPECT_FALSE(base64::Decode("YW=I"));   // a digit after '='
  EXPECT_FALSE(base64::Decode("Zg==Zg==")); // padding before the end
  EXPECT_EQ(base64::Decode("cnFsaXRl").value_or(""), "rqlite");
}

TEST(Crc32cTest, MatchesKnownVectors) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8a9136aau);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value("123456789"), 0xe3069283u);
}

TEST(Crc32cTest, ExtendEqualsWholeValue) {
  std::string data = "hello, replicated world";
  uint32_t split = crc32c::Extend(crc32c::Value(data.substr(0, 7)), data.data() + 7, data.size() - 7);
  EXPECT_EQ(split, crc32c::Value(data));
}

TEST(Crc32cTest, MaskRoundTripsAndDiffers) {
  uint32_t crc = crc32c::Value("abc");
  EXPECT_NE(crc32c::Mask(crc), crc);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(crc)), crc);
}

TEST(CodingTest, VarintRoundTripsAndRejectsTruncation) {
  std::string buf;
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) coding::PutVarint64(&buf, v);
  std::string_view in = buf;
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) EXPECT_EQ(coding::GetVarint64(&in), v);
  EXPECT_TRUE(in.empty());
  std::string bad = "\xff\xff";
  std::string_view bad_in = bad;
  EXPECT_FALSE(coding::GetVarint64(&bad_in).has_value());
}

TEST(CodingTest, FixedRoundTrips) {
  std::string buf;
  coding::PutFixed32(&buf, 0xdeadbeef);
  coding::PutFixed64(&buf, 0x0123456789abcdefull);
  EXPECT_EQ(coding::DecodeFixed32(buf.data()), 0xdeadbeefu);
  EXPECT_EQ(coding::DecodeFixed64(buf.data() + 4), 0x0123456789abcdefull);
}

TEST(RandomTest, SameSeedSameSequence) {
  Random a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    if (x != c.Next()) differs = true;
  }
  EXPECT_TRUE(differs);
}

TEST(StatusTest, ResultCarriesValueOrError) {
  Result<int> good = 5;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  Result<int> bad = Status::Corruption("crc mismatch");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption());
  EXPECT_EQ(bad.status().ToString(), "Corruption: crc mismatch");
}

TEST(TypesTest, StrongTypesOrderAndDistance) {
  LogIndex a(5), b(9);
  EXPECT_LT(a, b);
  EXPECT_EQ(b - a, 4u);
  EXPECT_EQ((a + 1).value(), 6u);
  EXPECT_EQ(NodeId("1"), NodeId("1"));
}

TEST(ThreadNameTest, NamesTheCallingThreadAndCutsAtFifteenBytes) {
  std::string short_name, long_name;
  std::thread([&] {
    char buf[64] = {};
    NameThisThread("raft-loop");
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    short_name = buf;
    NameThisThread("a-name-longer-than-fifteen");
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    long_name = buf;
  }).join();
  EXPECT_EQ(short_name, "raft-loop");
  EXPECT_EQ(long_name, "a-name-longer-t");
}

TEST(Utf8Test, WellFormedTextPasses) {
  EXPECT_EQ(FirstInvalidUtf8Byte(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte("CREATE TABLE t (x TEXT);"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"), std::nullopt);
}

TEST(Utf8Test, EachKindOfBadByteIsFoundAtItsOffset) {
  EXPECT_EQ(FirstInvalidUtf8Byte(std::string_view("ab\0cd", 5)), 2u);  // NUL ends SQLite's text
  EXPECT_EQ(FirstInvalidUtf8Byte("ab\x80"), 2u);                       // a lone continuation byte
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xC0\xAF"), 1u);                    // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xE0\x80\xAF"), 1u);               // overlong, three bytes
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xED\xA0\x80"), 1u);               // a surrogate
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xF4\x90\x80\x80"), 1u);          // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xF5\x80\x80\x80"), 1u);          // no such lead byte
  EXPECT_EQ(FirstInvalidUtf8Byte("abc\xE2\x82"), 3u);                  // cut short
  EXPECT_EQ(FirstInvalidUtf8Byte("a\xE2\x28\xA1"), 1u);               // bad continuation
}

TEST(ContainTest, AnExceptionIsSwallowedAndReported) {
  EXPECT_TRUE(CallContained("nothing", [] {}));
  EXPECT_FALSE(CallContained("a throw", [] { throw std::length_error("field value too large"); }));
  EXPECT_FALSE(CallContained("a non-standard throw", [] { throw 7; }));
}

// The shape of an io_context: run() that throws once from a "handler", then
// returns; RunContained must go on after the throw, not give up.
TEST(ContainTest, RunContainedResumesAfterAHandlerThrows) {
  struct FakeIo {
    int calls = 0;
    void run() {
      if (++calls == 1) throw std::runtime_error("handler failed");
    }
  } io;
  RunContained(io, "fake io");
  EXPECT_EQ(io.calls, 2);
}

}  // namespace
}  // namespace rq
