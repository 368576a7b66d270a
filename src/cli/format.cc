#include "cli/format.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace rq::cli {
namespace {

namespace json = boost::json;

// Nesting deeper than this is printed flat; server documents are shallow,
// and the bound keeps the recursive printers' stack small.
constexpr int kDepthMax = 32;

std::vector<std::string_view> SortedKeys(const json::object& object) {
  std::vector<std::string_view> keys;
  keys.reserve(object.size());
  for (const auto& entry : object) keys.push_back(entry.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string GoText(const json::value& value, int depth) {
  switch (value.kind()) {
    case json::kind::null: return "NULL";
    case json::kind::bool_: return value.get_bool() ? "true" : "false";
    case json::kind::int64: return std::to_string(value.get_int64());
    case json::kind::uint64: return std::to_string(value.get_uint64());
    case json::kind::double_: return FormatDouble(value.get_double());
    case json::kind::string: return std::string(value.get_string());
    case json::kind::array: {
      if (depth >= kDepthMax) return "[...]";
      std::string out = "[";
      for (const auto& item : value.get_array()) {
        if (out.size() > 1) out += ' ';
        out += GoText(item, depth + 1);
      }
      return out + "]";
    }
    case json::kind::object: {
      if (depth >= kDepthMax) return "map[...]";
      const json::object& object = value.get_object();
      std::string out = "map[";
      bool first = true;
      for (std::string_view key : SortedKeys(object)) {
        if (!first) out += ' ';
        first = false;
        out += std::string(key) + ":" + GoText(object.at(key), depth + 1);
      }
      return out + "]";
    }
  }
  return "";
}

std::string JsonString(std::string_view text) { return json::serialize(json::string(text)); }

std::string JsonTextAt(const json::value& value, int depth) {
  switch (value.kind()) {
    case json::kind::double_: return FormatDouble(value.get_double());
    case json::kind::string: return JsonString(value.get_string());
    case json::kind::array: {
      if (depth >= kDepthMax) return "[]";
      std::string out = "[";
      for (const auto& item : value.get_array()) {
        if (out.size() > 1) out += ',';
        out += JsonTextAt(item, depth + 1);
      }
      return out + "]";
    }
    case json::kind::object: {
      if (depth >= kDepthMax) return "{}";
      std::string out = "{";
      for (const auto& entry : value.get_object()) {
        if (out.size() > 1) out += ',';
        out += JsonString(entry.key()) + ":" + JsonTextAt(entry.value(), depth + 1);
      }
      return out + "}";
    }
    default: return json::serialize(value);
  }
}

std::string Border(const std::vector<size_t>& widths) {
  std::string line = "+";
  for (size_t width : widths) line += std::string(width + 2, '-') + "+";
  return line + "\n";
}

std::string GridRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
  std::string line = "|";
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string empty;
    const std::string& cell = i < cells.size() ? cells[i] : empty;
    line += " " + cell + std::string(widths[i] - DisplayWidth(cell), ' ') + " |";
  }
  return line + "\n";
}

std::string CsvField(const std::string& field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RenderCsv(const ResultSet& result) {
  std::string out;
  auto line = [&](const auto& fields, auto text_of) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvField(text_of(fields[i]));
    }
    out += "\n";
  };
  line(result.columns, [](const std::string& s) { return s; });
  for (const auto& row : result.rows) {
    line(row, [](const json::value& v) { return v.is_null() ? std::string() : CellText(v); });
  }
  return out;
}

std::string RenderJson(const ResultSet& result) {
  std::string out = "[";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    if (r > 0) out += ",\n";
    out += "{";
    const auto& row = result.rows[r];
    for (size_t c = 0; c < result.columns.size(); ++c) {
      if (c > 0) out += ",";
      json::value null_value;
      out += JsonString(result.columns[c]) + ":" + JsonTextAt(c < row.size() ? row[c] : null_value, 0);
    }
    out += "}";
  }
  return out + "]\n";
}

std::string RenderLines(const ResultSet& result) {
  size_t name_width = 0;
  for (const auto& column : result.columns) name_width = std::max(name_width, DisplayWidth(column));
  std::string out;
  for (size_t r = 0; r < result.rows.size(); ++r) {
    if (r > 0) out += "\n";
    for (size_t c = 0; c < result.columns.size(); ++c) {
      const std::string& name = result.columns[c];
      const auto& row = result.rows[r];
      out += std::string(name_width - DisplayWidth(name), ' ') + name + " = " +
             (c < row.size() ? CellText(row[c]) : "NULL") + "\n";
    }
  }
  return out;
}

void TreeLines(const json::object& object, int depth, std::string& out) {
  std::string indent(2 * depth, ' ');
  for (std::string_view key : SortedKeys(object)) {
    const json::value& value = object.at(key);
    if (value.is_null()) continue;
    if (value.is_object() && depth < kDepthMax) {
      out += indent + std::string(key) + ":\n";
      TreeLines(value.get_object(), depth + 1, out);
    } else {
      out += indent + std::string(key) + ": " + GoText(value, depth) + "\n";
    }
  }
}

}  // namespace

std::optional<OutputMode> ParseOutputMode(std::string_view name) {
  if (name == "column") return OutputMode::kColumn;
  if (name == "csv") return OutputMode::kCsv;
  if (name == "json") return OutputMode::kJson;
  if (name == "line") return OutputMode::kLine;
  return std::nullopt;
}

std::string_view OutputModeName(OutputMode mode) {
  switch (mode) {
    case OutputMode::kColumn: return "column";
    case OutputMode::kCsv: return "csv";
    case OutputMode::kJson: return "json";
    case OutputMode::kLine: return "line";
  }
  return "column";
}

std::string FormatDouble(double value) {
  if (std::isnan(value) || std::isinf(value)) return std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf");
  char buffer[64];
  double magnitude = std::fabs(value);
  bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  auto format = plain ? std::chars_format::fixed : std::chars_format::scientific;
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value, format);
  if (ec != std::errc()) return std::to_string(value);
  std::string text(buffer, end);
  if (!plain) {
    // Go writes "1e+21" and "1e-07": at least two exponent digits.
    size_t e = text.find('e');
    if (e != std::string::npos && e + 3 == text.size()) text.insert(e + 2, "0");
  }
  return text;
}

std::string CellText(const json::value& value) { return GoText(value, 0); }

std::string JsonText(const json::value& value) { return JsonTextAt(value, 0); }

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) widths[i] = DisplayWidth(header[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string border = Border(widths);
  std::string out = border + GridRow(header, widths) + border;
  for (const auto& row : rows) out += GridRow(row, widths) + border;
  return out;
}

std::string RenderResult(const ResultSet& result, OutputMode mode) {
  switch (mode) {
    case OutputMode::kColumn: {
      std::vector<std::vector<std::string>> cells;
      cells.reserve(result.rows.size());
      for (const auto& row : result.rows) {
        std::vector<std::string> line;
        for (size_t c = 0; c < result.columns.size(); ++c) {
          line.push_back(c < row.size() ? CellText(row[c]) : "NULL");
        }
        cells.push_back(std::move(line));
      }
      return RenderTable(result.columns, cells);
    }
    case OutputMode::kCsv: return RenderCsv(result);
    case OutputMode::kJson: return RenderJson(result);
    case OutputMode::kLine: return RenderLines(result);
  }
  return "";
}

std::string RenderTree(const json::value& document) {
  if (!document.is_object()) return CellText(document) + "\n";
  std::string out;
  TreeLines(document.get_object(), 0, out);
  return out;
}

}  // namespace rq::cli
