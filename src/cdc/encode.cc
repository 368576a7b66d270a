#include "cdc/encode.h"

#include <algorithm>
#include <numeric>

#include "base/base64.h"
#include "base/json_writer.h"

namespace rq::cdc {

namespace {

const char* OpName(command::RowOp op) {
  switch (op) {
    case command::RowOp::kInsert:
      return "INSERT";
    case command::RowOp::kUpdate:
      return "UPDATE";
    case command::RowOp::kDelete:
      return "DELETE";
  }
  return "";
}

void WriteValue(JsonWriter& w, const command::Value& value) {
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          w.Null();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w.Int(v);
        } else if constexpr (std::is_same_v<T, double>) {
          w.Double(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.String(v);
        } else if constexpr (std::is_same_v<T, command::Blob>) {
          w.String(base64::Encode(v.bytes));
        } else {
          static_assert(std::is_same_v<T, bool>, "Value gained a kind CDC does not encode");
          w.Bool(v);
        }
      },
      value);
}

// A Go map[string]interface{}: keys in byte order.
void WriteRow(JsonWriter& w, const std::vector<std::string>& columns, const std::vector<command::Value>& values) {
  std::vector<size_t> order(columns.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return columns[a] < columns[b]; });
  w.BeginObject();
  for (size_t i : order) {
    w.Key(columns[i]);
    WriteValue(w, values[i]);
  }
  w.EndObject();
}

}  // namespace

std::string EncodeEntry(uint64_t index, int64_t commit_timestamp_us, const std::vector<command::RowChange>& rows) {
  JsonWriter w(false);
  w.BeginObject();
  w.Key("index");
  w.Uint(index);
  if (commit_timestamp_us != 0) {
    w.Key("commit_timestamp");
    w.Int(commit_timestamp_us);
  }
  w.Key("events");
  w.BeginArray();
  for (const command::RowChange& row : rows) {
    w.BeginObject();
    w.Key("op");
    w.String(OpName(row.op));
    w.Key("table");
    w.String(row.table);
    if (row.new_row_id != 0) {
      w.Key("new_row_id");
      w.Int(row.new_row_id);
    }
    if (row.old_row_id != 0) {
      w.Key("old_row_id");
      w.Int(row.old_row_id);
    }
    const bool before_ok = row.before.empty() || row.before.size() == row.columns.size();
    const bool after_ok = row.after.empty() || row.after.size() == row.columns.size();
    if (!row.before.empty() && before_ok) {
      w.Key("before");
      WriteRow(w, row.columns, row.before);
    }
    if (!row.after.empty() && after_ok) {
      w.Key("after");
      WriteRow(w, row.columns, row.after);
    }
    std::string error = row.error;
    if (!before_ok || !after_ok) {
      if (!error.empty()) error += "; ";
      error += "table " + row.table + " has " + std::to_string(row.columns.size()) +
               " columns but the change carries " + std::to_string(std::max(row.before.size(), row.after.size())) +
               " values";
    }
    if (!error.empty()) {
      w.Key("error");
      w.String(error);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodeEnvelope(std::string_view node_id, std::string_view service_id,
                           const std::vector<std::string>& entries) {
  JsonWriter w(false);
  w.BeginObject();
  if (!service_id.empty()) {
    w.Key("service_id");
    w.String(service_id);
  }
  w.Key("node_id");
  w.String(node_id);
  w.Key("payload");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  std::string out = w.Take();
  // Entries are JSON already: splice them in between the payload's brackets.
  std::string joined;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) joined += ',';
    joined += entries[i];
  }
  out.insert(out.size() - 2, joined);  // before "]}"
  return out;
}

}  // namespace rq::cdc
