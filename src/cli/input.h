// Shell input: dot-command parsing and the multi-line SQL rule.
//
// SqlSplitter decides when buffered input is a finished list of statements
// and splits it. The rule is SQLite's: sqlite3_complete() (a statement ends
// at a ';' outside strings, comments and trigger bodies, exactly as the
// sqlite3 shell decides). Because rqlite users type statements without a
// trailing ';', text that lacks one still counts as complete unless SQLite's
// parser says "incomplete input" for it (an open parenthesis, a dangling
// WHERE, an unterminated string or comment, an open trigger body). The parse
// runs against a private empty in-memory database: nothing is executed.
//
// Ownership: SqlSplitter owns its scratch sqlite3 handle.
// Thread-safety: a SqlSplitter is used by one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace rq::cli {

struct DotCommand {
  std::string name;  // lower-cased, with the dot: ".tables"
  std::string args;  // the rest of the line, trimmed
  std::vector<std::string> Words() const;  // args split on whitespace
};

// nullopt when the line (after trimming) does not start with '.'.
std::optional<DotCommand> ParseDotCommand(std::string_view line);

// .exit, .quit, quit or exit (any case) as the first word of the line.
bool IsQuitCommand(std::string_view line);

std::string_view Trim(std::string_view text);
std::string ToLower(std::string_view text);

class SqlSplitter {
 public:
  struct Analysis {
    bool complete = false;                // false: wait for more lines
    std::vector<std::string> statements;  // valid when complete; may be empty
  };

  SqlSplitter();
  ~SqlSplitter();
  SqlSplitter(const SqlSplitter&) = delete;
  SqlSplitter& operator=(const SqlSplitter&) = delete;

  Analysis Analyze(std::string_view text) const;

 private:
  // True when the text holds no statement at all (blank, comments, ';').
  bool IsEmptyStatement(std::string_view text) const;
  // True when SQLite's parser reached the end of text mid-statement.
  bool NeedsMoreInput(std::string_view text) const;

  sqlite3* scratch_ = nullptr;
};

}  // namespace rq::cli
