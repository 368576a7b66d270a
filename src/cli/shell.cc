#include "cli/shell.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>

namespace rq::cli {
namespace {

namespace json = boost::json;
using client::Method;
using client::Request;
using client::Response;

// Progress lines are redrawn at most this often.
constexpr auto kProgressInterval = std::chrono::milliseconds(250);
// An unexpected (non-JSON) body is quoted up to this many bytes.
constexpr size_t kQuoteBytesMax = 200;

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

std::string JsonArrayOf(const std::vector<std::string>& statements) {
  json::array array;
  for (const auto& statement : statements) array.emplace_back(json::string(statement));
  return json::serialize(array);
}

std::string Quote(std::string_view body) {
  std::string text(Trim(body.substr(0, kQuoteBytesMax)));
  if (body.size() > kQuoteBytesMax) text += "...";
  return text;
}

bool IsQueryResult(const json::object& result) {
  return result.contains("columns") || result.contains("types") || result.contains("values");
}

int64_t IntField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<int64_t>(value->get_uint64());
  if (value->is_double()) return static_cast<int64_t>(value->get_double());
  return 0;
}

double TimeField(const json::object& object) {
  const json::value* value = object.if_contains("time");
  if (value == nullptr) return 0;
  return value->is_double() ? value->get_double() : (value->is_int64() ? double(value->get_int64()) : 0);
}

ResultSet ToResultSet(const json::object& result) {
  ResultSet set;
  if (const json::value* columns = result.if_contains("columns"); columns && columns->is_array()) {
    for (const auto& column : columns->get_array()) {
      set.columns.push_back(column.is_string() ? std::string(column.get_string()) : CellText(column));
    }
  }
  if (const json::value* values = result.if_contains("values"); values && values->is_array()) {
    for (const auto& row : values->get_array()) {
      if (row.is_array()) set.rows.emplace_back(row.get_array().begin(), row.get_array().end());
    }
  }
  return set;
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return Printf(unit == 0 ? "%.0f" : "%.1f", bytes) + " " + units[unit];
}

}  // namespace

Shell::Shell(client::Api& api, std::ostream& out, std::ostream& err, ShellOptions options)
    : api_(api), base_out_(out), err_(err), options_(options), host_(api.current_host()) {}

Shell::~Shell() = default;

std::ostream& Shell::out() { return output_file_ ? *output_file_ : base_out_; }

void Shell::Fail(std::string_view message) { Report("ERR! ", message); }

void Shell::FailSql(std::string_view message) { Report("Error: ", message); }

void Shell::Report(std::string_view prefix, std::string_view message) {
  if (options_.errors_fail) failed_ = true;
  (options_.errors_on_stdout ? out() : err_) << prefix << message << "\n" << std::flush;
}

void Shell::NoteHost() { host_ = api_.current_host(); }

std::string Shell::Prompt() const {
  std::string prompt = host_ + "> ";
  if (pending_.empty()) return prompt;
  std::string continuation = "...> ";
  size_t pad = prompt.size() > continuation.size() ? prompt.size() - continuation.size() : 0;
  return std::string(pad, ' ') + continuation;
}

Result<Response> Shell::Send(Request request) {
  Result<Response> response = api_.Send(request);
  NoteHost();
  if (response.ok() && response->status == 401) return Status::InvalidArgument("unauthorized");
  return response;
}

std::optional<json::value> Shell::SendForJson(Request request) {
  Result<Response> response = Send(std::move(request));
  if (!response.ok()) {
    Fail(response.status().message());
    return std::nullopt;
  }
  if (response->status != 200) {
    Fail("server responded with " + response->StatusLine() + ": " + Quote(response->body));
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value document = json::parse(response->body, ec);
  if (ec) {
    Fail("unexpected response from server (not JSON): " + Quote(response->body));
    return std::nullopt;
  }
  return document;
}

Result<std::string> Shell::ServerVersion() {
  Request request;
  request.target = "status";
  Result<Response> response = Send(request);
  if (!response.ok()) return response.status();
  if (!response->version.empty()) return response->version;
  boost::system::error_code ec;
  json::value document = json::parse(response->body, ec);
  if (!ec && document.is_object()) {
    const json::value* build = document.get_object().if_contains("build");
    if (build && build->is_object()) {
      const json::value* version = build->get_object().if_contains("version");
      if (version && version->is_string()) return std::string(version->get_string());
    }
  }
  return std::string("unknown");
}

Shell::LineResult Shell::FeedLine(std::string_view line) {
  if (pending_.empty()) {
    std::string_view text = Trim(line);
    if (text.empty()) return LineResult::kDone;
    if (IsQuitCommand(text)) return LineResult::kQuit;
    if (std::optional<DotCommand> command = ParseDotCommand(text)) {
      RunDotCommand(*command);
      return LineResult::kDone;
    }
  }
  pending_.append(line);
  pending_ += '\n';
  SqlSplitter::Analysis analysis = splitter_.Analyze(pending_);
  if (!analysis.complete) return LineResult::kNeedMore;
  pending_.clear();
  if (!analysis.statements.empty()) RunStatements(analysis.statements);
  return LineResult::kDone;
}

void Shell::FinishInput() {
  if (Trim(pending_).empty()) return;
  Fail("incomplete SQL at end of input: " + std::string(Trim(pending_)));
  pending_.clear();
}

void Shell::RunStatements(const std::vector<std::string>& statements) {
  Request request;
  request.method = Method::kPost;
  request.target = force_writes_ ? "db/execute" : "db/request";
  std::string params;
  if (timer_) params += "&timings";
  if (blob_array_) params += "&blob_array";
  if (!params.empty()) request.target += "?" + params.substr(1);
  request.content_type = "application/json";
  request.body = JsonArrayOf(statements);
  std::optional<json::value> document = SendForJson(std::move(request));
  if (!document) return;
  if (!document->is_object()) {
    Fail("unexpected response from server: " + Quote(json::serialize(*document)));
    return;
  }
  const json::object& top = document->get_object();
  if (const json::value* error = top.if_contains("error"); error && error->is_string()) {
    Fail(error->get_string());
    return;
  }
  const json::value* results = top.if_contains("results");
  if (results == nullptr || !results->is_array() || results->get_array().empty()) {
    Fail("unexpected results length: " + std::to_string(results && results->is_array() ? results->get_array().size() : 0));
    return;
  }
  for (const json::value& result : results->get_array()) {
    if (!result.is_object()) {
      Fail("unexpected result: " + json::serialize(result));
      continue;
    }
    PrintResult(result.get_object());
  }
}

void Shell::PrintResult(const json::object& result) {
  if (const json::value* error = result.if_contains("error"); error && error->is_string()) {
    FailSql(error->get_string());
    return;
  }
  if (IsQueryResult(result)) {
    out() << RenderResult(ToResultSet(result), mode_);
    if (timer_) out() << "Run Time: " << Printf("%f", TimeField(result)) << " seconds\n";
    out() << std::flush;
    return;
  }
  schema_words_.reset();  // a write may have changed the schema
  int64_t rows = IntField(result, "rows_affected");
  out() << rows << (rows > 1 ? " rows" : " row") << " affected";
  if (timer_) out() << " (" << Printf("%f", TimeField(result)) << " sec)";
  out() << "\n";
  if (changes_) out() << "last insert ID: " << IntField(result, "last_insert_id") << "\n";
  out() << std::flush;
}

void Shell::Query(std::string_view sql) {
  Request request;
  request.method = Method::kPost;
  request.target = "db/query?level=" + consistency_;
  if (timer_) request.target += "&timings";
  if (blob_array_) request.target += "&blob_array";
  request.content_type = "application/json";
  request.body = JsonArrayOf({std::string(sql)});
  std::optional<json::value> document = SendForJson(std::move(request));
  if (!document) return;
  const json::object* top = document->if_object();
  const json::value* error = top ? top->if_contains("error") : nullptr;
  if (error && error->is_string()) return Fail(error->get_string());
  const json::value* results = top ? top->if_contains("results") : nullptr;
  if (!results || !results->is_array() || results->get_array().size() != 1 ||
      !results->get_array()[0].is_object()) {
    return Fail("unexpected response from server: " + Quote(json::serialize(*document)));
  }
  PrintResult(results->get_array()[0].get_object());
}

client::ProgressFn Shell::Progress(std::string label) {
  if (!options_.show_progress) return nullptr;
  auto start = std::chrono::steady_clock::now();
  auto last = start - kProgressInterval;
  return [this, label = std::move(label), start, last](uint64_t done, uint64_t total) mutable {
    auto now = std::chrono::steady_clock::now();
    bool finished = total > 0 && done >= total;
    if (now - last < kProgressInterval && !finished) return;
    last = now;
    double seconds = std::chrono::duration<double>(now - start).count();
    err_ << "\r" << label << ": " << HumanBytes(double(done));
    if (total > 0) err_ << " of " << HumanBytes(double(total));
    if (seconds > 0) err_ << " (" << HumanBytes(double(done) / seconds) << "/s)";
    err_ << "   " << (finished ? "\n" : "") << std::flush;
  };
}

std::vector<std::string> Shell::CompletionWords() {
  if (!schema_words_) {
    schema_words_.emplace();
    Request request;
    request.method = Method::kPost;
    request.target = "db/query?level=" + consistency_;
    request.content_type = "application/json";
    request.body = JsonArrayOf({"SELECT m.name, p.name FROM sqlite_master AS m "
                                "JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'"});
    Result<Response> response = api_.Send(request);
    boost::system::error_code ec;
    json::value document;
    if (response.ok() && response->status == 200) document = json::parse(response->body, ec);
    const json::value* values = nullptr;
    if (!ec && document.is_object()) {
      const json::value* results = document.get_object().if_contains("results");
      if (results && results->is_array() && !results->get_array().empty() &&
          results->get_array()[0].is_object()) {
        values = results->get_array()[0].get_object().if_contains("values");
      }
    }
    std::set<std::string> words;
    if (values && values->is_array()) {
      for (const auto& row : values->get_array()) {
        if (!row.is_array()) continue;
        for (const auto& cell : row.get_array()) {
          if (cell.is_string()) words.insert(std::string(cell.get_string()));
        }
      }
    }
    schema_words_->assign(words.begin(), words.end());
  }
  std::vector<std::string> words;
  for (const CommandSpec& spec : Commands()) words.emplace_back(spec.name);
  words.insert(words.end(), schema_words_->begin(), schema_words_->end());
  return words;
}

}  // namespace rq::cli
