#include "http/response_json.h"

#include "base/base64.h"

#include <algorithm>
#include <map>

#include "base/json_writer.h"

namespace rq::http {
namespace {

struct ValueVisitor {
  JsonWriter* writer;
  bool blob_array;
  void operator()(std::monostate) const { writer->Null(); }
  void operator()(int64_t v) const { writer->Int(v); }
  void operator()(double v) const { writer->Double(v); }
  void operator()(const std::string& v) const { writer->String(v); }
  void operator()(bool v) const { writer->Bool(v); }
  void operator()(const command::Blob& blob) const {
    if (!blob_array) {
      writer->String(base64::Encode(blob.bytes));
      return;
    }
    writer->BeginArray();
    for (char c : blob.bytes) writer->Int(static_cast<unsigned char>(c));
    writer->EndArray();
  }
};

void WriteValue(JsonWriter& writer, const command::Value& value, bool blob_array) {
  std::visit(ValueVisitor{&writer, blob_array}, value);
}

void WriteStringArray(JsonWriter& writer, const std::vector<std::string>& items) {
  writer.BeginArray();
  for (const auto& item : items) writer.String(item);
  writer.EndArray();
}

// Go marshals maps with sorted keys; a repeated column keeps its last value,
// as a Go map assignment would.
void WriteRowMap(JsonWriter& writer, const command::StatementResult& result,
                 const std::vector<command::Value>& row, bool blob_array) {
  std::map<std::string_view, const command::Value*> sorted;
  for (size_t i = 0; i < result.columns.size() && i < row.size(); i++) sorted[result.columns[i]] = &row[i];
  writer.BeginObject();
  for (const auto& [column, value] : sorted) {
    writer.Key(column);
    WriteValue(writer, *value, blob_array);
  }
  writer.EndObject();
}

void WriteAssociativeRows(JsonWriter& writer, const command::StatementResult& result, bool blob_array) {
  std::map<std::string_view, std::string_view> types;
  for (size_t i = 0; i < result.columns.size() && i < result.types.size(); i++) {
    types[result.columns[i]] = result.types[i];
  }
  writer.Key("types");
  writer.BeginObject();
  for (const auto& [column, type] : types) {
    writer.Key(column);
    writer.String(type);
  }
  writer.EndObject();
  writer.Key("rows");
  writer.BeginArray();
  for (const auto& row : result.values) WriteRowMap(writer, result, row, blob_array);
  writer.EndArray();
}

void WriteQueryFields(JsonWriter& writer, const command::StatementResult& result, const RenderOptions& options) {
  if (options.associative) {
    if (result.error.empty()) WriteAssociativeRows(writer, result, options.blob_array);
    return;
  }
  if (!result.columns.empty()) {
    writer.Key("columns");
    WriteStringArray(writer, result.columns);
  }
  if (!result.types.empty()) {
    writer.Key("types");
    WriteStringArray(writer, result.types);
  }
  if (result.values.empty()) return;
  writer.Key("values");
  writer.BeginArray();
  for (const auto& row : result.values) {
    writer.BeginArray();
    for (const auto& value : row) WriteValue(writer, value, options.blob_array);
    writer.EndArray();
  }
  writer.EndArray();
}

void WriteResult(JsonWriter& writer, const command::StatementResult& result, const RenderOptions& options) {
  writer.BeginObject();
  if (result.has_rows) {
    WriteQueryFields(writer, result, options);
  } else {
    if (result.last_insert_id != 0) {
      writer.Key("last_insert_id");
      writer.Int(result.last_insert_id);
    }
    if (result.rows_affected != 0) {
      writer.Key("rows_affected");
      writer.Int(result.rows_affected);
    }
    if (options.associative && options.write_rows_null) {
      writer.Key("rows");
      writer.Null();
    }
  }
  if (!result.error.empty()) {
    writer.Key("error");
    writer.String(result.error);
  }
  if (options.timings && result.time_s != 0) {
    writer.Key("time");
    writer.Double(result.time_s);
  }
  writer.EndObject();
}

void WriteNodeFields(JsonWriter& writer, const NodeInfo& node) {
  writer.Key("id");
  writer.String(node.id);
  const auto optional_string = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    writer.Key(key);
    writer.String(value);
  };
  optional_string("api_addr", node.api_addr);
  optional_string("addr", node.addr);
  optional_string("version", node.version);
  writer.Key("voter");
  writer.Bool(node.voter);
  writer.Key("reachable");
  writer.Bool(node.reachable);
  writer.Key("leader");
  writer.Bool(node.leader);
  if (node.time_s != 0) {
    writer.Key("time");
    writer.Double(node.time_s);
    writer.Key("time_s");
    writer.String(FormatGoDuration(std::chrono::nanoseconds(static_cast<int64_t>(node.time_s * 1e9))));
  }
  optional_string("error", node.error);
}

// "1.500" -> ".5"; all zeros -> "".
std::string TrimmedFraction(uint64_t fraction, int digits) {
  std::string text(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; i--) {
    text[static_cast<size_t>(i)] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  while (!text.empty() && text.back() == '0') text.pop_back();
  return text.empty() ? "" : "." + text;
}

}  // namespace

std::string RenderResponse(const command::Response& response, const RenderOptions& options) {
  JsonWriter writer(options.pretty);
  writer.BeginObject();
  writer.Key("results");
  writer.BeginArray();
  for (const auto& result : response.results) WriteResult(writer, result, options);
  writer.EndArray();
  if (!response.error.empty()) {
    writer.Key("error");
    writer.String(response.error);
  }
  if (options.timings && response.time_s != 0) {
    writer.Key("time");
    writer.Double(response.time_s);
  }
  if (options.raft_index && response.raft_index != 0) {
    writer.Key("raft_index");
    writer.Uint(response.raft_index);
  }
  writer.EndObject();
  return writer.Take();
}

std::string RenderQueued(uint64_t sequence_number, bool pretty) {
  JsonWriter writer(pretty);
  writer.BeginObject();
  writer.Key("results");
  writer.BeginArray();
  writer.EndArray();
  writer.Key("sequence_number");
  writer.Uint(sequence_number);
  writer.EndObject();
  return writer.Take();
}

std::string RenderRewrites(const std::vector<RewriteResult>& rewrites, bool pretty) {
  JsonWriter writer(pretty);
  writer.BeginObject();
  writer.Key("results");
  writer.BeginArray();
  for (const auto& rewrite : rewrites) {
    writer.BeginObject();
    writer.Key("original");
    writer.String(rewrite.original);
    writer.Key(rewrite.error.empty() ? "rewritten" : "error");
    writer.String(rewrite.error.empty() ? rewrite.rewritten : rewrite.error);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return writer.Take();
}

std::string RenderNodes(std::vector<NodeInfo> nodes, bool version2, bool pretty) {
  std::sort(nodes.begin(), nodes.end(), [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
  JsonWriter writer(pretty);
  writer.BeginObject();
  if (version2) {
    writer.Key("nodes");
    writer.BeginArray();
  }
  for (const auto& node : nodes) {
    if (!version2) writer.Key(node.id);
    writer.BeginObject();
    WriteNodeFields(writer, node);
    writer.EndObject();
  }
  if (version2) writer.EndArray();
  writer.EndObject();
  return writer.Take();
}

std::string RenderNode(const NodeInfo& node, bool pretty) {
  JsonWriter writer(pretty);
  writer.BeginObject();
  WriteNodeFields(writer, node);
  writer.EndObject();
  return writer.Take();
}

std::string FormatGoDuration(std::chrono::nanoseconds duration) {
  const int64_t count = duration.count();
  if (count == 0) return "0s";
  const std::string sign = count < 0 ? "-" : "";
  const uint64_t magnitude = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  constexpr uint64_t kSecond = 1000ULL * 1000 * 1000;
  if (magnitude < 1000) return sign + std::to_string(magnitude) + "ns";
  if (magnitude < kSecond) {
    const bool micros = magnitude < 1000 * 1000;
    const uint64_t unit = micros ? 1000 : 1000 * 1000;
    return sign + std::to_string(magnitude / unit) + TrimmedFraction(magnitude % unit, micros ? 3 : 6) +
           (micros ? "\xC2\xB5s" : "ms");
  }
  const uint64_t seconds = magnitude / kSecond;
  std::string text = sign;
  if (seconds >= 3600) text += std::to_string(seconds / 3600) + "h";
  if (seconds >= 60) text += std::to_string(seconds / 60 % 60) + "m";
  text += std::to_string(seconds % 60) + TrimmedFraction(magnitude % kSecond, 9) + "s";
  return text;
}


}  // namespace rq::http
