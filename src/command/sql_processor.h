// The SQL processor: makes a request deterministic before it enters the Raft
// log, the equivalent of rqlite's command/sql/processor.go. The leader (or
// the node receiving the write) runs it once; every replica then applies the
// same literal values (DESIGN.md invariant 3).
//
//  - RANDOM() becomes a literal non-negative 63-bit integer, except inside an
//    ORDER BY (ordering by random is left to SQLite, as rqlite does).
//  - RANDOMBLOB(N), N an integer literal, becomes a literal blob x'...' of
//    max(N, 1) bytes (also not inside ORDER BY).
//  - date(), time(), datetime(), julianday(), unixepoch(), strftime() and
//    timediff() get their 'now' argument replaced by the current time as a
//    Julian day number, e.g. datetime(2440422.500000). A call with no time
//    value at all (date(), strftime('%s')) means now too and gets one added.
//  - CURRENT_TIMESTAMP / CURRENT_DATE / CURRENT_TIME are left alone, as
//    rqlite v10 does (they are keywords, not calls, in its parser).
//  - A RETURNING clause or an EXPLAIN marks the statement returns_rows.
//  - RANDOM() and RANDOMBLOB(N) in SQL the schema stores and SQLite runs
//    later, inside each write (CREATE TRIGGER, CREATE VIEW, a column's
//    DEFAULT (...)), are left alone: a literal would give every row the same
//    value. The writer connection's random()/randomblob() are seeded per log
//    entry (db/seeded_random.h), so each row gets its own value, the same on
//    every replica. Time functions there are still rewritten (frozen at
//    CREATE time): the apply path has no replicated clock.
// Strings, identifiers and comments are never rewritten: the processor works
// on tokens (command/sql_lexer.h), keeps the original text and only replaces
// the byte ranges of rewritten calls. SQL that does not lex is passed through
// (the lexable part is still rewritten) so SQLite reports the syntax error.
//
// The caller injects randomness and the clock, so tests are deterministic;
// production passes std::chrono::system_clock::now() and a Random seeded
// from std::random_device (RANDOM() is not meant to be unpredictable, only
// identical on every replica).
//
// Thread-safety: free functions; Random is the caller's and not shared.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/bounded_text_map.h"
#include "base/random.h"
#include "base/status.h"
#include "command/types.h"

namespace rq::command {

namespace processor_config {
// RANDOMBLOB(N) with a larger N is refused rather than inlined: the literal
// would be 2N bytes in every log entry and snapshot.
inline constexpr size_t kRandomBlobBytesMax = size_t{1} << 20;
}  // namespace processor_config

struct ProcessOptions {
  bool rewrite_random = true;  // false with ?norwrandom
  bool rewrite_time = true;    // false with ?norwtime
};

using WallTime = std::chrono::system_clock::time_point;

// One processed SQL string.
struct ProcessedSql {
  std::string sql;            // rewritten, or the input unchanged
  bool rewritten = false;
  bool returns_rows = false;  // RETURNING clause or EXPLAIN
  std::string lex_error;      // the first unrecognized token, if any
};

// Rewrites one SQL string (which may hold several ';'-separated statements).
// InvalidArgument only for RANDOMBLOB(N) with N > kRandomBlobBytesMax.
Result<ProcessedSql> ProcessSql(std::string_view sql, const ProcessOptions& options,
                                Random& random, WallTime now);

// Texts Process left as they were without drawing a random value: for
// them the outcome (unchanged, and whether rows come back) depends on the
// text and the options alone, so the next request with the same text skips
// the lexer. Bounded (base/bounded_text_map.h).
// Thread-safety: none; the caller guards it with what guards `random`.
class ProcessedTexts {
 public:
  static constexpr size_t kTextsMax = 512;
  static constexpr size_t kTextBytesMax = 4096;

  // Whether `sql` came out unchanged under `options`, and if so whether it
  // returns rows.
  const bool* Find(std::string_view sql, const ProcessOptions& options) const {
    return maps_[Slot(options)].Find(sql);
  }
  void Remember(std::string_view sql, const ProcessOptions& options, bool returns_rows) {
    maps_[Slot(options)].Put(sql, returns_rows);
  }

 private:
  static size_t Slot(const ProcessOptions& o) { return (o.rewrite_random ? 1 : 0) + (o.rewrite_time ? 2 : 0); }
  std::array<BoundedTextMap<bool>, 4> maps_{{{kTextsMax, kTextBytesMax},
                                             {kTextsMax, kTextBytesMax},
                                             {kTextsMax, kTextBytesMax},
                                             {kTextsMax, kTextBytesMax}}};
};

// Rewrites every statement in place and sets returns_rows where detected
// (never clears it). All or nothing: on error the request is unchanged.
// Callers skip this entirely for ?noparse. With `cache`, texts it knows are
// not lexed again, and the ones that turn out unchanged are added.
Status Process(Request* request, const ProcessOptions& options, Random& random, WallTime now,
               ProcessedTexts* cache = nullptr);

// For /db/sql: how each statement would be rewritten, without changing it.
struct RewritePreview {
  std::string original;
  std::string rewritten;  // set when error is empty
  std::string error;
};
std::vector<RewritePreview> Preview(const Request& request, const ProcessOptions& options,
                                    Random& random, WallTime now);

// The literal that replaces 'now': the Julian day of `now` with at least six
// decimals (rqlite's "%f" form) and more when needed to keep full precision.
std::string JulianDayLiteral(WallTime now);

}  // namespace rq::command
