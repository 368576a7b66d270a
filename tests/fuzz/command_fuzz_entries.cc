// Properties checked on every fuzz input; see command_fuzz_entries.h.
#include "command_fuzz_entries.h"

#include <chrono>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "base/random.h"
#include "command/codec.h"
#include "command/sql_lexer.h"
#include "command/sql_processor.h"

namespace rq::fuzz {

void FuzzCommandCodec(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<command::Command> decoded = command::DecodeCommand(bytes);
  if (!decoded.ok()) {
    RQ_ASSERT(decoded.status().IsCorruption());
    return;
  }
  // Compare encodings, not values: a NaN parameter is never == itself.
  std::string encoded = command::EncodeCommand(*decoded);
  Result<command::Command> again = command::DecodeCommand(encoded);
  RQ_ASSERT(again.ok());
  RQ_ASSERT(command::EncodeCommand(*again) == encoded);
}

namespace {

void CheckTokensTile(std::string_view sql, const command::LexResult& lexed) {
  size_t end = 0;
  for (const command::Token& token : lexed.tokens) {
    RQ_ASSERT(token.offset >= end);
    RQ_ASSERT(token.size > 0);
    end = size_t{token.offset} + token.size;
    RQ_ASSERT(end <= sql.size());
  }
  RQ_ASSERT(lexed.error.empty() == (lexed.tokens.empty() ||
                                    [&] {
                                      for (const command::Token& t : lexed.tokens) {
                                        if (t.kind == command::TokenKind::kIllegal) return false;
                                      }
                                      return true;
                                    }()));
}

bool MentionsRandomBlob(std::string_view sql) {
  constexpr std::string_view kWord = "randomblob";
  for (size_t i = 0; i + kWord.size() <= sql.size(); ++i) {
    if (command::WordIs(sql.substr(i, kWord.size()), kWord)) return true;
  }
  return false;
}

}  // namespace

void FuzzSqlProcessor(const uint8_t* data, size_t size) {
  if (size == 0) return;
  // The first byte picks the options, the rest is SQL.
  command::ProcessOptions options;
  options.rewrite_random = (data[0] & 1) != 0;
  options.rewrite_time = (data[0] & 2) != 0;
  std::string_view sql(reinterpret_cast<const char*>(data + 1), size - 1);
  command::LexResult lexed = command::Lex(sql);
  CheckTokensTile(sql, lexed);

  Random random(data[0]);
  const command::WallTime now{std::chrono::seconds(1767268800)};
  Result<command::ProcessedSql> out = command::ProcessSql(sql, options, random, now);
  if (!out.ok()) {
    RQ_ASSERT(out.status().IsInvalidArgument());  // only an oversized randomblob
    return;
  }
  RQ_ASSERT(out->rewritten || out->sql == sql);
  RQ_ASSERT(out->lex_error == lexed.error);
  // Rewriting is idempotent, with one exception shared with rqlite:
  // randomblob(random()) only gets a literal size on the first pass.
  Result<command::ProcessedSql> twice = command::ProcessSql(out->sql, options, random, now);
  if (!twice.ok()) {
    RQ_ASSERT(twice.status().IsInvalidArgument());
    RQ_ASSERT(MentionsRandomBlob(sql));
    return;
  }
  RQ_ASSERT(twice->lex_error.empty() == lexed.error.empty());
  RQ_ASSERT(!twice->rewritten || MentionsRandomBlob(sql));
  RQ_ASSERT(twice->returns_rows == out->returns_rows);
}

}  // namespace rq::fuzz
