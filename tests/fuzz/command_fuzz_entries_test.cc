// Runs the command fuzz entry points over seeded random inputs, so CI checks
// their properties without clang/libFuzzer. An RQ_ASSERT failure aborts.
#include "command_fuzz_entries.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/random.h"
#include "command/codec.h"
#include "fuzz_input.h"

namespace rq::fuzz {
namespace {

TEST(CommandFuzzEntriesTest, CodecSurvivesRandomAndMutatedInputs) {
  command::Command seed{command::CommandType::kExecute, {}, ""};
  seed.request.statements.push_back({"INSERT INTO t VALUES(?, :a)", {{"", 1.5}, {"a", command::Blob{"\x01"}}}, true});
  std::vector<std::string> seeds = {command::EncodeCommand(seed)};
  seed.request.statements[0].sql.assign(5000, 'x');  // compressed form
  seeds.push_back(command::EncodeCommand(seed));
  Random random(11);
  for (int round = 0; round < 4000; ++round) {
    std::string input;
    if (round % 4 == 0) {
      for (uint64_t n = random.Uniform(64); n > 0; --n) input.push_back(static_cast<char>(random.Next()));
    } else {
      input = Mutate(random, seeds[random.Uniform(seeds.size())]);
    }
    Feed(FuzzCommandCodec, input);
  }
  SUCCEED();
}

TEST(CommandFuzzEntriesTest, SqlProcessorSurvivesRandomSqlFragments) {
  const std::vector<std::string> fragments = {
      "SELECT ", "INSERT INTO t VALUES(", "random()", "RANDOM ( )", "randomblob(", "8", ")", "(", ",",
      "date(", "'now'", "\"now\"", "now", "strftime('%s'", "timediff(", "datetime()", "ORDER BY ",
      "LIMIT ", " RETURNING *", "EXPLAIN ", ";", "'", "\"", "[", "`", "x'", "--", "/*", "*/", "\n",
      "?", ":p", "$", "1.5e", "0x", "WITH ", "UPDATE t SET a=", " OVER (", "abc", "\xc3\xa9", "#",
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN ", " END", "CREATE TEMP VIEW v AS ", "CREATE TABLE u (a DEFAULT (",
      " DEFAULT ", " CASE WHEN 1 THEN "};
  Random random(12);
  for (int round = 0; round < 5000; ++round) {
    std::string input(1, static_cast<char>(random.Uniform(4)));
    for (uint64_t n = random.Uniform(16); n > 0; --n) input += fragments[random.Uniform(fragments.size())];
    if (round % 5 == 0) input = Mutate(random, input);
    Feed(FuzzSqlProcessor, input);
  }
  SUCCEED();
}

}  // namespace
}  // namespace rq::fuzz
