// command/codec.h: round trips, compression thresholds, hostile input.
#include "command/codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "base/random.h"

namespace rq::command {
namespace {

Request OneStatement(std::string sql) {
  Request request;
  request.statements.push_back(Statement{std::move(sql), {}, false});
  return request;
}

Command RoundTrip(const Command& command) {
  Result<Command> decoded = DecodeCommand(EncodeCommand(command));
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  return decoded.ok() ? decoded.value() : Command{};
}

TEST(CommandCodecTest, EveryValueKindRoundTrips) {
  Command command;
  command.type = CommandType::kExecute;
  Statement statement{"INSERT INTO t VALUES(?, ?, ?, ?, ?, ?, :named)", {}, true};
  statement.parameters = {
      {"", Value{}},
      {"", Value{int64_t{-9223372036854775807 - 1}}},
      {"", Value{3.25}},
      {"", Value{std::string("text with \0 nul", 15)}},
      {"", Value{Blob{std::string("\x00\xff\x10", 3)}}},
      {"", Value{true}},
      {"named", Value{int64_t{42}}},
  };
  command.request.statements.push_back(statement);
  command.request.transaction = true;
  command.request.db_timeout_ns = 1'500'000'000;
  command.request.vm_step_budget = 75'000'000;
  command.request.qualify_columns = true;
  EXPECT_EQ(RoundTrip(command), command);
}

TEST(CommandCodecTest, DoubleEdgeValuesRoundTrip) {
  for (double d : {0.0, -0.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::max()}) {
    Command command{CommandType::kQuery, OneStatement("SELECT ?"), ""};
    command.request.statements[0].parameters.push_back({"", Value{d}});
    Command back = RoundTrip(command);
    ASSERT_EQ(back.request.statements.size(), 1u);
    double got = std::get<double>(back.request.statements[0].parameters[0].value);
    EXPECT_EQ(got, d);
    EXPECT_EQ(std::signbit(got), std::signbit(d));
  }
}

TEST(CommandCodecTest, NanParameterKeepsItsBits) {
  const double nan = std::bit_cast<double>(uint64_t{0xffffffff00003300});
  Command command{CommandType::kExecute, OneStatement("SELECT ?"), ""};
  command.request.statements[0].parameters.push_back({"", Value{nan}});
  Command back = RoundTrip(command);
  double got = std::get<double>(back.request.statements[0].parameters[0].value);
  EXPECT_EQ(std::bit_cast<uint64_t>(got), std::bit_cast<uint64_t>(nan));
}

TEST(CommandCodecTest, InvalidUtf8TextRoundTrips) {
  Command command{CommandType::kExecute, OneStatement("SELECT '\xff\xfe'"), ""};
  command.request.statements[0].parameters.push_back({"\xc3", Value{std::string("\x80\x80")}});
  EXPECT_EQ(RoundTrip(command), command);
}

TEST(CommandCodecTest, BoolFalseAndZeroIntegerKeepTheirKind) {
  Command command{CommandType::kExecute, OneStatement("SELECT ?, ?"), ""};
  command.request.statements[0].parameters = {{"", Value{false}}, {"", Value{int64_t{0}}}};
  Command back = RoundTrip(command);
  EXPECT_TRUE(std::holds_alternative<bool>(back.request.statements[0].parameters[0].value));
  EXPECT_TRUE(std::holds_alternative<int64_t>(back.request.statements[0].parameters[1].value));
}

TEST(CommandCodecTest, EveryCommandTypeRoundTrips) {
  for (CommandType type : {CommandType::kExecute, CommandType::kQuery, CommandType::kExecuteQuery,
                           CommandType::kLoad, CommandType::kNoop, CommandType::kCdcHighWaterMark}) {
    Command command{type, {}, ""};
    if (type == CommandType::kLoad) command.payload = std::string("SQLite format 3\0rest", 20);
    if (type == CommandType::kCdcHighWaterMark) command.high_water_mark = (uint64_t{1} << 40) + 7;
    EXPECT_EQ(RoundTrip(command), command);
  }
}

TEST(CommandCodecTest, SmallRequestIsNotCompressed) {
  Request request = OneStatement(std::string(4095, 'x'));
  request.statements.resize(511, request.statements[0]);
  EXPECT_FALSE(ShouldCompress(request));
}

TEST(CommandCodecTest, ManyStatementsAreCompressedTransparently) {
  Command command{CommandType::kExecute, {}, ""};
  for (int i = 0; i < 512; ++i) {
    command.request.statements.push_back(Statement{"INSERT INTO t VALUES(" + std::to_string(i) + ")", {}, false});
  }
  ASSERT_TRUE(ShouldCompress(command.request));
  std::string bytes = EncodeCommand(command);
  size_t raw_bytes = 0;
  for (const Statement& s : command.request.statements) raw_bytes += s.sql.size();
  EXPECT_LT(bytes.size(), raw_bytes / 2);  // repetitive SQL shrinks a lot
  EXPECT_EQ(RoundTrip(command), command);
}

TEST(CommandCodecTest, OneBigStatementIsCompressedTransparently) {
  Command command{CommandType::kExecute, OneStatement("SELECT '" + std::string(4096, 'a') + "'"), ""};
  ASSERT_TRUE(ShouldCompress(command.request));
  EXPECT_LT(EncodeCommand(command).size(), 1000u);
  EXPECT_EQ(RoundTrip(command), command);
}

TEST(CommandCodecTest, BigIncompressiblePayloadRoundTrips) {
  Random random(7);
  std::string blob(3 << 20, '\0');
  for (char& c : blob) c = static_cast<char>(random.Next());
  Command command{CommandType::kExecute, OneStatement("INSERT INTO t VALUES(?)"), ""};
  command.request.statements[0].parameters.push_back({"", Value{Blob{blob}}});
  command.request.statements.push_back(Statement{std::string(10000, ' ') + "SELECT 1", {}, false});
  EXPECT_EQ(RoundTrip(command), command);
}

TEST(CommandCodecTest, EmptyInputIsCorruptionNotNoop) {
  // Proto3 would parse "" as type UNKNOWN; an entry must say what it is.
  Result<Command> decoded = DecodeCommand("");
  ASSERT_FALSE(decoded.ok());
  EXPECT_TRUE(decoded.status().IsCorruption());
}

TEST(CommandCodecTest, GarbageIsCorruption) {
  for (std::string_view garbage : {std::string_view("\xff\xff\xff\xff"), std::string_view("hello world"),
                                   std::string_view("\x08\x63", 2) /* type 99 */}) {
    Result<Command> decoded = DecodeCommand(garbage);
    ASSERT_FALSE(decoded.ok()) << garbage;
    EXPECT_TRUE(decoded.status().IsCorruption());
  }
}

TEST(CommandCodecTest, TruncatedEncodingIsCorruption) {
  Command command{CommandType::kExecute, OneStatement("INSERT INTO t VALUES('abcdef')"), ""};
  std::string bytes = EncodeCommand(command);
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    Result<Command> decoded = DecodeCommand(std::string_view(bytes).substr(0, cut));
    // Some prefixes are valid protobuf; none may decode to the original.
    if (decoded.ok()) {
      EXPECT_NE(decoded.value(), command) << cut;
    } else {
      EXPECT_TRUE(decoded.status().IsCorruption());
    }
  }
}

TEST(CommandCodecTest, CorruptCompressedStreamIsCorruption) {
  Command command{CommandType::kExecute, OneStatement(std::string(5000, 'q')), ""};
  std::string bytes = EncodeCommand(command);
  // Flip bytes near the end: that is inside the zlib stream and its adler32.
  for (size_t back = 1; back <= 8; ++back) {
    std::string bad = bytes;
    bad[bad.size() - back] = static_cast<char>(bad[bad.size() - back] ^ 0x5a);
    Result<Command> decoded = DecodeCommand(bad);
    ASSERT_FALSE(decoded.ok()) << back;
    EXPECT_TRUE(decoded.status().IsCorruption());
  }
}

TEST(CommandCodecTest, RandomMutationsNeverCrash) {
  Command command{CommandType::kExecute, OneStatement(std::string(5000, 'z')), ""};
  command.request.statements.push_back(Statement{"SELECT ?", {{"p", Value{1.5}}}, true});
  std::string bytes = EncodeCommand(command);
  Random random(1);
  int corrupt = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bad = bytes;
    for (uint64_t n = random.Range(1, 4); n > 0; --n) {
      bad[random.Uniform(bad.size())] = static_cast<char>(random.Next());
    }
    Result<Command> decoded = DecodeCommand(bad);
    if (!decoded.ok()) {
      EXPECT_TRUE(decoded.status().IsCorruption());
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0);
}

}  // namespace
}  // namespace rq::command
