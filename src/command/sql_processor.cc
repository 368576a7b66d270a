// Token-level rewriting of non-deterministic SQL; see sql_processor.h.
#include "command/sql_processor.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>

#include "command/sql_lexer.h"

namespace rq::command {
namespace {

constexpr int64_t kNanosPerDay = int64_t{86400} * 1000 * 1000 * 1000;
constexpr double kUnixEpochJulianDay = 2440587.5;
constexpr int kJulianDayDecimalsMin = 6;  // rqlite renders with Go's "%f"

// A replacement of bytes [offset, offset + size) of the original SQL.
struct Edit {
  size_t offset;
  size_t size;
  std::string text;
};

// For each '(' token: its matching ')' and the first two top-level commas.
struct ParenInfo {
  int32_t close = -1;
  int32_t comma_count = 0;
  int32_t comma[2] = {-1, -1};
};

// Words after which "name(" is a table or CTE with a column list, not a call:
// CREATE TABLE date(now), INSERT INTO time(a) ..., WITH random(x) AS ...
constexpr std::string_view kNotCallAfter[] = {"into",  "table", "exists",     "update",    "view",
                                              "index", "with",  "recursive",  "references", "trigger"};

bool IsIdentifierByte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == '$' || u >= 0x80 || u == '\'' || u == '"' || u == '.';
}

std::string HexUpper(Random& random, size_t bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes * 2 + 3);
  out += "x'";
  uint64_t word = 0;
  for (size_t i = 0; i < bytes; ++i) {
    if (i % 8 == 0) word = random.Next();
    unsigned byte = static_cast<unsigned>(word & 0xff);
    word >>= 8;
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  out += "'";
  return out;
}

class Rewriter {
 public:
  Rewriter(std::string_view sql, const LexResult& lexed, const ProcessOptions& options,
           Random& random, const std::string& julian_day)
      : sql_(sql), tokens_(lexed.tokens), options_(options), random_(random),
        julian_day_(julian_day), parens_(tokens_.size()) {
    RQ_ASSERT(tokens_.size() < static_cast<size_t>(INT32_MAX));  // ParenInfo holds int32 indices
  }

  Result<ProcessedSql> Run() {
    MatchParens();
    for (size_t i = 0; i < tokens_.size(); ++i) {
      Result<size_t> next = Visit(i);
      if (!next.ok()) return next.status();
      RQ_ASSERT(*next >= i);
      i = *next;
    }
    ProcessedSql out;
    out.returns_rows = returns_rows_;
    out.rewritten = !edits_.empty();
    out.sql = edits_.empty() ? std::string(sql_) : ApplyEdits();
    return out;
  }

 private:
  std::string_view Text(size_t i) const { return tokens_[i].Text(sql_); }
  bool KindAt(size_t i, TokenKind kind) const { return i < tokens_.size() && tokens_[i].kind == kind; }
  bool WordAt(size_t i, std::string_view lower) const {
    return KindAt(i, TokenKind::kWord) && WordIs(Text(i), lower);
  }

  // One pass with a stack, so finding a call's arguments is O(1) later and
  // deeply nested input stays linear.
  void MatchParens() {
    std::vector<size_t> open;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      TokenKind kind = tokens_[i].kind;
      if (kind == TokenKind::kLeftParen) {
        open.push_back(i);
      } else if (kind == TokenKind::kRightParen && !open.empty()) {
        parens_[open.back()].close = static_cast<int32_t>(i);
        open.pop_back();
      } else if (kind == TokenKind::kComma && !open.empty()) {
        ParenInfo& info = parens_[open.back()];
        if (info.comma_count < 2) info.comma[info.comma_count] = static_cast<int32_t>(i);
        ++info.comma_count;
      } else if (kind == TokenKind::kSemicolon) {
        open.clear();  // parentheses never span statements
      }
    }
  }

  // Returns the index of the last token consumed.
  Result<size_t> Visit(size_t i) {
    if (after_body_semicolon_ && tokens_[i].kind != TokenKind::kSemicolon) {
      after_body_semicolon_ = false;
      if (WordAt(i, "end")) trigger_body_ = false;  // a CASE's END never follows a ';'
    }
    switch (tokens_[i].kind) {
      case TokenKind::kSemicolon:
        depth_ = 0;
        order_by_depth_ = -1;
        stored_end_ = 0;
        if (trigger_body_) {
          after_body_semicolon_ = true;  // the trigger goes on to its END
          return i;
        }
        at_statement_start_ = true;
        return i;
      case TokenKind::kLeftParen:
        NoteStatementStart(i);
        ++depth_;
        return i;
      case TokenKind::kRightParen:
        NoteStatementStart(i);
        if (depth_ > 0) --depth_;
        if (order_by_depth_ > depth_) order_by_depth_ = -1;
        return i;
      case TokenKind::kWord:
        NoteStatementStart(i);
        return VisitWord(i);
      default:
        NoteStatementStart(i);
        return i;
    }
  }

  void NoteStatementStart(size_t i) {
    if (!at_statement_start_) return;
    at_statement_start_ = false;
    if (WordAt(i, "explain")) returns_rows_ = true;
    writes_ = WordAt(i, "insert") || WordAt(i, "replace") || WordAt(i, "update") ||
              WordAt(i, "delete") || WordAt(i, "with");
    trigger_ = view_ = create_table_ = false;
    if (WordAt(i, "create")) {
      size_t kind = i + 1;
      if (WordAt(kind, "temp") || WordAt(kind, "temporary")) ++kind;
      trigger_ = WordAt(kind, "trigger");
      view_ = WordAt(kind, "view");
      create_table_ = WordAt(kind, "table");
    }
  }

  Result<size_t> VisitWord(size_t i) {
    if (order_by_depth_ == depth_ &&
        (WordAt(i, "limit") || WordAt(i, "rows") || WordAt(i, "range") || WordAt(i, "groups"))) {
      order_by_depth_ = -1;  // the ORDER BY terms ended
    }
    if (WordAt(i, "order") && WordAt(i + 1, "by")) {
      if (order_by_depth_ < 0) order_by_depth_ = depth_;
      return i + 1;
    }
    if (WordAt(i, "returning") && IsReturningClause(i)) returns_rows_ = true;
    if (trigger_ && depth_ == 0 && WordAt(i, "begin")) trigger_body_ = true;
    if (create_table_ && WordAt(i, "default") && KindAt(i + 1, TokenKind::kLeftParen) &&
        parens_[i + 1].close > 0) {
      stored_end_ = std::max(stored_end_, static_cast<size_t>(parens_[i + 1].close));
    }
    if (KindAt(i + 1, TokenKind::kLeftParen) && IsCallPosition(i)) return VisitCall(i);
    return i;
  }

  // RETURNING is a keyword SQLite lets stand as a column name, so demand a
  // top-level clause position in a write.
  bool IsReturningClause(size_t i) const {
    if (depth_ != 0 || !writes_) return false;
    if (i + 1 >= tokens_.size()) return false;
    TokenKind next = tokens_[i + 1].kind;
    if (next == TokenKind::kComma || next == TokenKind::kRightParen || next == TokenKind::kDot ||
        next == TokenKind::kSemicolon) {
      return false;
    }
    return !(next == TokenKind::kOperator && Text(i + 1) == "=");
  }

  bool IsCallPosition(size_t i) const {
    if (i == 0) return true;
    if (tokens_[i - 1].kind == TokenKind::kDot) return false;
    for (std::string_view word : kNotCallAfter) {
      if (WordAt(i - 1, word)) return false;
    }
    return true;
  }

  // Arguments of the call whose '(' is token open: count and token ranges.
  struct Args {
    size_t open;
    size_t close;
    int count;
    size_t begin[2];
    size_t end[2];
  };

  Args ArgsOf(size_t open) const {
    const ParenInfo& info = parens_[open];
    RQ_ASSERT(info.close > 0);
    Args args{open, static_cast<size_t>(info.close), 0, {0, 0}, {0, 0}};
    if (args.close == open + 1) return args;
    args.count = info.comma_count + 1;
    args.begin[0] = open + 1;
    args.end[0] = info.comma[0] >= 0 ? static_cast<size_t>(info.comma[0]) : args.close;
    if (args.count >= 2) {
      args.begin[1] = args.end[0] + 1;
      args.end[1] = info.comma[1] >= 0 ? static_cast<size_t>(info.comma[1]) : args.close;
    }
    return args;
  }

  Result<size_t> VisitCall(size_t name) {
    if (parens_[name + 1].close < 0) return name;  // unbalanced: SQLite will say so
    Args args = ArgsOf(name + 1);
    bool in_order_by = order_by_depth_ >= 0;
    if (options_.rewrite_random && !in_order_by && !InStoredSql(name)) {
      if (WordAt(name, "random") && args.count == 0) {
        uint64_t value = random_.Next() >> 1;  // [0, 2^63), as rqlite's rand.Int63
        ReplaceTokens(name, args.close, std::to_string(value));
        return args.close;
      }
      if (WordAt(name, "randomblob") && args.count == 1) return RewriteRandomBlob(name, args);
    }
    if (options_.rewrite_time) RewriteTimeCall(name, args);
    return name;  // keep scanning inside: arguments may hold more calls
  }

  // SQL the schema keeps and SQLite evaluates later, inside each write: a
  // trigger (WHEN and body), a view, a column's DEFAULT (...). A literal
  // there would give every row the same value; the writer's seeded
  // random() (db/seeded_random.h) gives each its own, alike on every replica.
  bool InStoredSql(size_t name) const { return trigger_ || view_ || name < stored_end_; }

  Result<size_t> RewriteRandomBlob(size_t name, const Args& args) {
    size_t arg = args.begin[0];
    if (args.end[0] != arg + 1 || tokens_[arg].kind != TokenKind::kNumber) return name;
    std::string_view digits = Text(arg);
    uint64_t bytes = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bytes);
    if (end != digits.data() + digits.size()) return name;  // 1.5, 0x10: SQLite decides
    if (ec != std::errc() || bytes > processor_config::kRandomBlobBytesMax) {
      return Status::InvalidArgument("randomblob(" + std::string(digits) +
                                     ") is too large to rewrite (max " +
                                     std::to_string(processor_config::kRandomBlobBytesMax) + ")");
    }
    ReplaceTokens(name, args.close, HexUpper(random_, std::max<uint64_t>(bytes, 1)));
    return args.close;
  }

  void RewriteTimeCall(size_t name, const Args& args) {
    bool one_time_value = WordAt(name, "date") || WordAt(name, "time") ||
                          WordAt(name, "datetime") || WordAt(name, "julianday") ||
                          WordAt(name, "unixepoch");
    if (one_time_value) {
      if (args.count == 0) Insert(tokens_[args.close].offset, julian_day_);
      if (args.count >= 1) ReplaceIfNow(args.begin[0], args.end[0]);
    } else if (WordAt(name, "strftime")) {
      if (args.count == 1) Insert(tokens_[args.close].offset, ", " + julian_day_);
      if (args.count >= 2) ReplaceIfNow(args.begin[1], args.end[1]);
    } else if (WordAt(name, "timediff") && args.count == 2) {
      ReplaceIfNow(args.begin[0], args.end[0]);
      ReplaceIfNow(args.begin[1], args.end[1]);
    }
  }

  // 'now' as a string, "now" (SQLite reads an unknown double-quoted name as a
  // string) or bare now, like rqlite's isNow.
  void ReplaceIfNow(size_t begin, size_t end) {
    if (end != begin + 1) return;
    const Token& token = tokens_[begin];
    std::string_view text = Text(begin);
    bool now = false;
    if (token.kind == TokenKind::kWord) now = WordIs(text, "now");
    if (token.kind == TokenKind::kString || (token.kind == TokenKind::kQuotedIdentifier && text[0] == '"')) {
      now = WordIs(Unquote(text), "now");
    }
    if (now) ReplaceTokens(begin, begin, julian_day_);
  }

  void ReplaceTokens(size_t first, size_t last, std::string text) {
    size_t begin = tokens_[first].offset;
    size_t end = tokens_[last].offset + tokens_[last].size;
    // Keep a literal from gluing onto what follows: random()AS -> 123 AS.
    if (end < sql_.size() && IsIdentifierByte(sql_[end])) text.push_back(' ');
    // Or onto what precedes: the illegal token 1e+ must not become 1e+123.
    if (GluesOntoPrevious(begin)) text.insert(text.begin(), ' ');
    edits_.push_back(Edit{begin, end - begin, std::move(text)});
  }

  bool GluesOntoPrevious(size_t begin) const {
    if (begin == 0) return false;
    char previous = sql_[begin - 1];
    if (IsIdentifierByte(previous)) return true;
    bool sign = previous == '+' || previous == '-';
    return sign && begin >= 2 && (sql_[begin - 2] == 'e' || sql_[begin - 2] == 'E');
  }

  void Insert(size_t offset, std::string text) { edits_.push_back(Edit{offset, 0, std::move(text)}); }

  std::string ApplyEdits() {
    std::stable_sort(edits_.begin(), edits_.end(),
                     [](const Edit& a, const Edit& b) { return a.offset < b.offset; });
    std::string out;
    out.reserve(sql_.size() + 32 * edits_.size());
    size_t copied = 0;
    for (const Edit& edit : edits_) {
      RQ_ASSERT(edit.offset >= copied);  // edits never overlap
      out.append(sql_.substr(copied, edit.offset - copied));
      out.append(edit.text);
      copied = edit.offset + edit.size;
    }
    RQ_ASSERT(copied <= sql_.size());
    out.append(sql_.substr(copied));
    return out;
  }

  std::string_view sql_;
  const std::vector<Token>& tokens_;
  const ProcessOptions& options_;
  Random& random_;
  const std::string& julian_day_;
  std::vector<ParenInfo> parens_;
  std::vector<Edit> edits_;
  int depth_ = 0;
  int order_by_depth_ = -1;  // depth of the ORDER BY whose terms we are in; -1: none
  bool at_statement_start_ = true;
  bool writes_ = false;  // the current statement starts INSERT/REPLACE/UPDATE/DELETE/WITH
  bool trigger_ = false;  // the current statement is CREATE [TEMP] TRIGGER
  bool view_ = false;  // ... CREATE [TEMP] VIEW
  bool create_table_ = false;  // ... CREATE [TEMP] TABLE
  bool trigger_body_ = false;  // between the trigger's BEGIN and END: ';' does not end it
  bool after_body_semicolon_ = false;  // the last token was a ';' in a trigger body
  size_t stored_end_ = 0;  // the ')' of the DEFAULT (...) being visited; tokens before it are in it
  bool returns_rows_ = false;
};

}  // namespace

std::string JulianDayLiteral(WallTime now) {
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  int64_t days = nanos / kNanosPerDay;
  int64_t rest = nanos % kNanosPerDay;
  if (rest < 0) {
    rest += kNanosPerDay;
    --days;
  }
  // Whole days first, so the fraction keeps all the precision a double has.
  double julian_day = (kUnixEpochJulianDay + static_cast<double>(days)) +
                      static_cast<double>(rest) / static_cast<double>(kNanosPerDay);
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), julian_day, std::chars_format::fixed);
  RQ_ASSERT(ec == std::errc());
  std::string out(buffer, end);
  size_t dot = out.find('.');
  if (dot == std::string::npos) {
    dot = out.size();
    out.push_back('.');
  }
  size_t decimals = out.size() - dot - 1;
  if (decimals < kJulianDayDecimalsMin) out.append(kJulianDayDecimalsMin - decimals, '0');
  return out;
}

namespace {

// One 'now' literal per request: every statement of it sees the same instant.
Result<ProcessedSql> ProcessSqlAt(std::string_view sql, const ProcessOptions& options,
                                  Random& random, const std::string& julian_day) {
  LexResult lexed = Lex(sql);
  Rewriter rewriter(sql, lexed, options, random, julian_day);
  Result<ProcessedSql> out = rewriter.Run();
  if (out.ok()) out->lex_error = std::move(lexed.error);
  return out;
}

}  // namespace

Result<ProcessedSql> ProcessSql(std::string_view sql, const ProcessOptions& options, Random& random,
                                WallTime now) {
  return ProcessSqlAt(sql, options, random, JulianDayLiteral(now));
}

Status Process(Request* request, const ProcessOptions& options, Random& random, WallTime now,
               ProcessedTexts* cache) {
  RQ_ASSERT(request != nullptr);
  std::optional<std::string> julian_day;  // formatted on the first text lexed
  std::vector<ProcessedSql> processed;
  processed.reserve(request->statements.size());
  // A batch usually repeats one text. A rewrite that drew no random value
  // depends only on the text and this request's instant, so the previous
  // statement's result is reused for the same text.
  const Statement* previous = nullptr;
  bool previous_reusable = false;
  for (const Statement& statement : request->statements) {
    if (previous_reusable && statement.sql == previous->sql) {
      processed.push_back(processed.back());
      continue;
    }
    previous = &statement;
    if (const bool* returns_rows = cache != nullptr ? cache->Find(statement.sql, options) : nullptr) {
      processed.push_back(ProcessedSql{"", false, *returns_rows, ""});
      previous_reusable = true;
      continue;
    }
    if (!julian_day) julian_day = JulianDayLiteral(now);
    const uint64_t random_before = random.state();
    Result<ProcessedSql> one = ProcessSqlAt(statement.sql, options, random, *julian_day);
    if (!one.ok()) return one.status();
    processed.push_back(std::move(one).value());
    previous_reusable = random.state() == random_before;
    if (cache != nullptr && previous_reusable && !processed.back().rewritten) {
      cache->Remember(statement.sql, options, processed.back().returns_rows);
    }
  }
  for (size_t i = 0; i < processed.size(); ++i) {
    Statement& statement = request->statements[i];
    if (processed[i].rewritten) statement.sql = std::move(processed[i].sql);
    if (processed[i].returns_rows) statement.returns_rows = true;
  }
  return Status::OK();
}

std::vector<RewritePreview> Preview(const Request& request, const ProcessOptions& options,
                                    Random& random, WallTime now) {
  const std::string julian_day = JulianDayLiteral(now);
  std::vector<RewritePreview> previews;
  previews.reserve(request.statements.size());
  for (const Statement& statement : request.statements) {
    RewritePreview preview;
    preview.original = statement.sql;
    Result<ProcessedSql> one = ProcessSqlAt(statement.sql, options, random, julian_day);
    if (!one.ok()) {
      preview.error = one.status().message();
    } else if (!one->lex_error.empty()) {
      preview.error = one->lex_error;
    } else {
      preview.rewritten = std::move(one->sql);
    }
    previews.push_back(std::move(preview));
  }
  return previews;
}

}  // namespace rq::command
