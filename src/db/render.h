// Value rendering: how one SQLite column value becomes a command::Value,
// reproducing the go-sqlite3 driver rules rqlite's clients depend on
// (API.md 2.4). Pure functions; thread-safe.
//
//   INTEGER -> int64; in a `boolean` column -> bool (v > 0); in a `date`,
//              `datetime` or `timestamp` column -> RFC 3339 string (unix
//              seconds, or milliseconds when |v| > 1e12), always UTC.
//   REAL    -> double.
//   TEXT    -> string; in a time column parsed and re-emitted as RFC 3339,
//              keeping its offset; unparseable -> "0001-01-01T00:00:00Z".
//   BLOB    -> command::Blob, or a string when the declared type is text-like
//              (including "", the declared type of an expression).
//   NULL    -> monostate.
// Declared types are compared lower-cased and exactly, as go-sqlite3 does.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "command/types.h"

namespace rq::db {

// The go-sqlite3 zero time, used when a time column holds unparseable text.
inline constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

bool IsTimeDeclType(std::string_view lower_decltype);
bool IsTextDeclType(std::string_view lower_decltype);

// Parses TEXT from a time column; the zero time when no format matches.
// Fails only when the result cannot be written as RFC 3339 (year > 9999).
Result<std::string> RenderTimeText(std::string_view text);

// INTEGER from a time column: unix seconds, or ms when |v| > 1e12.
Result<std::string> RenderTimeInteger(int64_t value);

// Reads column `index` of a statement positioned on a row.
// REQUIRES: sqlite3_step(stmt) returned SQLITE_ROW.
Result<command::Value> ReadColumn(sqlite3_stmt* stmt, int index, std::string_view lower_decltype);

// rqlite fills an expression column's empty type from the first row's value
// (db.go populateEmptyTypes), stopping at the first NULL it meets.
void FillEmptyTypesFromRow(std::vector<std::string>& types, const std::vector<command::Value>& row);

}  // namespace rq::db
