// Output formatting for the rqlite shell: result grids in the four output
// modes (column, csv, json, line) and the YAML-like tree printer used by
// .status, .expvar, .nodes and friends. Pure functions: no I/O, no state.
//
// Thread-safety: all functions are reentrant.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rq::cli {

enum class OutputMode { kColumn, kCsv, kJson, kLine };

std::optional<OutputMode> ParseOutputMode(std::string_view name);
std::string_view OutputModeName(OutputMode mode);

// One query result: column names and rows of JSON values, as /db/request
// returned them.
struct ResultSet {
  std::vector<std::string> columns;
  std::vector<std::vector<boost::json::value>> rows;
};

// A double the way Go's JSON encoder writes it (and so the way rqlite's
// shell shows it): shortest round-trip digits, plain notation for
// 1e-6 <= |x| < 1e21, exponent notation otherwise.
std::string FormatDouble(double value);

// A value as rqlite's shell prints it with Go's %v: strings raw, numbers as
// JSON numbers, NULL as "NULL", arrays as "[1 2 3]", objects as
// "map[k:v ...]" with sorted keys.
std::string CellText(const boost::json::value& value);

// The ASCII grid: a border, the header row, a border, then each row followed
// by a border. Cells are left-aligned and padded to the widest cell.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// A result in the given mode; each mode's output ends with a newline.
std::string RenderResult(const ResultSet& result, OutputMode mode);

// Compact JSON for one value (doubles via FormatDouble).
std::string JsonText(const boost::json::value& value);

// The YAML-like view of a JSON document: "key: value" lines, nested objects
// indented by two spaces under "key:", keys sorted, nulls skipped.
std::string RenderTree(const boost::json::value& document);

// Number of terminal columns a UTF-8 string takes (one per code point).
size_t DisplayWidth(std::string_view text);

}  // namespace rq::cli
