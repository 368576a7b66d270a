// The endpoint handlers of Handler (API.md 2.5): one function per endpoint,
// each validating its inputs, calling Backend and replying exactly once.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <optional>

#include "base/utf8.h"
#include "http/handler_internal.h"
#include "http/http_metrics.h"
#include "base/json_writer.h"
#include "http/request_parser.h"
#include "http/response_json.h"

namespace rq::http {

using namespace internal;

namespace {

using Nanos = std::chrono::nanoseconds;
constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

// The statements of /db/execute, /db/query and /db/sql: GET takes ?q=,
// text/plain is one statement (not on /db/request), anything else JSON.
Result<command::Request> ParseStatements(const HttpRequest& request, const QueryParams& params,
                                         bool allow_plain) {
  if (request.method == "GET") {
    std::string sql = params.Get("q");
    const size_t first = sql.find_first_not_of(" \t\r\n");
    sql = first == std::string::npos ? "" : sql.substr(first, sql.find_last_not_of(" \t\r\n") - first + 1);
    if (sql.empty()) return Status::InvalidArgument("bad query GET request");  // rqlite's text
    return ParsePlainRequest(sql);
  }
  if (allow_plain && IsTextPlain(request.content_type)) return ParsePlainRequest(request.body);
  return ParseJsonRequest(request.body);
}

void ApplyRequestParams(const QueryParams& params, command::Request* request) {
  request->transaction = params.transaction();
  request->db_timeout_ns = params.Duration("db_timeout", Nanos(0)).count();
  request->qualify_columns = params.qualify_columns();
}

// rqlite writes "[+]node ok\n[+]leader ok\n[+]store ok": lines joined by
// newlines, no trailing one, every line prefixed "[+]" even when failing.
std::string ReadyzBody(const std::vector<Backend::ReadyCheck>& checks, bool* all_ok) {
  std::string body;
  *all_ok = true;
  for (const auto& check : checks) {
    if (!body.empty()) body += "\n";
    if (check.ok) {
      body += "[+]" + check.name + " ok";
      continue;
    }
    body += "[+]" + (check.detail.empty() ? check.name + " not ok" : check.detail);
    *all_ok = false;
    break;  // rqlite stops at the first failing check
  }
  return body;
}

// /remove and POST /leader bodies: {"id":"..."}. For /remove the object must
// hold exactly that key.
Result<std::string> ParseIdBody(std::string_view body, bool exact) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec) return Status::InvalidArgument(kErrInvalidJson);
  const auto* object = root.if_object();
  if (object == nullptr) return Status::InvalidArgument(kErrInvalidRequest);
  const auto* id = object->if_contains("id");
  if (id == nullptr || !id->is_string() || (exact && object->size() != 1)) {
    return Status::InvalidArgument(kErrInvalidRequest);
  }
  return std::string(id->get_string());
}

// The call's options plus the client's basic-auth pair, which a forwarded
// request carries to the leader.
CallOptions OptionsFor(const QueryParams& params, const HttpRequest& request) {
  CallOptions options = params.ToCallOptions();
  options.credentials = ParseBasicAuth(request.authorization);
  return options;
}

}  // namespace

void Handler::ReplyError(const std::shared_ptr<Call>& call, const Status& status) {
  HttpReply reply;
  switch (status.code()) {
    case Status::Code::kNotLeader: {
      const std::string leader = call->params.redirect() ? backend_->LeaderApiUrl() : "";
      if (leader.empty()) {
        HttpCounters().leader_not_found.Add();
        reply = PlainReply(503, "leader not found");
        break;
      }
      std::string location = leader + call->path;
      if (!call->raw_query.empty()) location += "?" + call->raw_query;
      reply = RedirectReply(301, std::move(location));
      break;
    }
    case Status::Code::kInvalidArgument:
      // The leader refused the forwarded credentials.
      reply = status.message() == kUnauthorized ? HttpReply{401, {}, "", ""} : PlainReply(400, status.message());
      break;
    case Status::Code::kNotFound: reply = PlainReply(404, status.message()); break;
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kBusy:
      if (status.message() == "leader not found") HttpCounters().leader_not_found.Add();
      reply = PlainReply(503, status.message());
      break;
    default: reply = PlainReply(500, status.message()); break;
  }
  if (call->served_by) reply.SetHeader("X-RQLITE-SERVED-BY", backend_->ServedBy());
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

Done Handler::DataDone(const std::shared_ptr<Call>& call, bool write_rows_null) {
  call->served_by = true;
  return [this, call, write_rows_null](Result<command::Response> result) {
    if (!result.ok()) return ReplyError(call, result.status());
    command::Response& response = result.value();
    const QueryParams& params = call->params;
    if (params.timings() && response.time_s == 0) {
      response.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - call->start).count();
    }
    RenderOptions options;
    options.pretty = params.pretty();
    options.timings = params.timings();
    options.associative = params.associative();
    options.blob_array = params.blob_array();
    options.raft_index = params.raft_index();
    options.write_rows_null = write_rows_null;
    HttpReply reply = JsonReply(RenderResponse(response, options));
    // A forwarded answer names the leader's Raft address (API.md 2.1).
    reply.SetHeader("X-RQLITE-SERVED-BY", response.served_by.empty() ? backend_->ServedBy() : response.served_by);
    AddCommonHeaders(&reply);
    call->done(std::move(reply));
  };
}

void Handler::HandleExecute(const std::shared_ptr<Call>& call) {
  call->served_by = true;
  Result<command::Request> request = ParseStatements(call->request, call->params, true);
  const bool queued = call->params.Has("queue");
  // A queued write with ?wait and no statements is a flush barrier.
  const bool barrier = queued && call->params.Has("wait") && call->request.body.empty();
  if (!request.ok() && !barrier) return ReplyError(call, request.status());
  command::Request parsed = request.ok() ? std::move(request).value() : command::Request();
  ApplyRequestParams(call->params, &parsed);
  HttpCounters().execute_stmts_rx.Add(static_cast<int64_t>(parsed.statements.size()));
  if (queued) {
    HttpCounters().queued_executions.Add();
    if (call->params.Has("wait")) HttpCounters().queued_executions_wait.Add();
    return HandleQueued(call, std::move(parsed));
  }
  backend_->Execute(std::move(parsed), OptionsFor(call->params, call->request), DataDone(call, true));
}

void Handler::HandleQueued(const std::shared_ptr<Call>& call, command::Request request) {
  uint64_t sequence_number = 0;
  if (!request.statements.empty()) {
    Result<QueueResult> queued = backend_->Enqueue(std::move(request), OptionsFor(call->params, call->request));
    if (!queued.ok()) return ReplyError(call, queued.status());
    sequence_number = queued->sequence_number;
  }
  HttpReply reply = JsonReply(RenderQueued(sequence_number, call->params.pretty()));
  reply.SetHeader("X-RQLITE-SERVED-BY", backend_->ServedBy());
  if (!call->params.Has("wait")) {
    AddCommonHeaders(&reply);
    return call->done(std::move(reply));
  }
  const Nanos timeout = call->params.Timeout(std::chrono::seconds(30));
  backend_->WaitForQueue(timeout, [this, call, reply = std::move(reply)](Status status) mutable {
    if (status.IsTimeout()) {
      reply = PlainReply(408, "queue wait timeout");
    } else if (!status.ok()) {
      return ReplyError(call, status);
    }
    AddCommonHeaders(&reply);
    call->done(std::move(reply));
  });
}

void Handler::HandleQuery(const std::shared_ptr<Call>& call) {
  Result<command::Request> request = ParseStatements(call->request, call->params, true);
  if (!request.ok()) return ReplyError(call, request.status());
  HttpCounters().query_stmts_rx.Add(static_cast<int64_t>(request->statements.size()));
  ApplyRequestParams(call->params, &request.value());
  backend_->Query(std::move(request).value(), OptionsFor(call->params, call->request), DataDone(call, false));
}

void Handler::HandleRequest(const std::shared_ptr<Call>& call) {
  Result<command::Request> request = ParseJsonRequest(call->request.body);
  if (!request.ok()) return ReplyError(call, request.status());
  HttpCounters().request_stmts_rx.Add(static_cast<int64_t>(request->statements.size()));
  ApplyRequestParams(call->params, &request.value());
  backend_->Request(std::move(request).value(), OptionsFor(call->params, call->request), DataDone(call, true));
}

void Handler::HandleSql(const std::shared_ptr<Call>& call) {
  Result<command::Request> request = ParseStatements(call->request, call->params, false);
  if (!request.ok()) return ReplyError(call, request.status());
  const auto rewrites = backend_->PreviewSql(request.value(), OptionsFor(call->params, call->request));
  HttpReply reply = JsonReply(RenderRewrites(rewrites, call->params.pretty()));
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleBackup(const std::shared_ptr<Call>& call) {
  call->served_by = true;
  const QueryParams& params = call->params;
  BackupOptions options;
  std::string format = params.Get("fmt");
  for (char& c : format) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (format == "sql") options.format = BackupOptions::Format::kSql;
  if (format == "delete") options.format = BackupOptions::Format::kDelete;
  options.vacuum = params.Has("vacuum");
  options.noleader = params.Has("noleader");
  options.redirect = params.redirect();
  options.timeout = params.Timeout(std::chrono::seconds(30));
  options.credentials = ParseBasicAuth(call->request.authorization);
  std::string tables = params.Get("tables");
  for (size_t start = 0; start < tables.size();) {
    const size_t comma = std::min(tables.find(',', start), tables.size());
    if (comma > start) options.tables.push_back(tables.substr(start, comma - start));
    start = comma + 1;
  }
  Result<std::string> path = backend_->Backup(options);
  if (!path.ok()) return ReplyError(call, path.status());
  std::string file = std::move(path).value();
  const bool sql = options.format == BackupOptions::Format::kSql;
  if (params.Has("compress")) {
    Result<std::string> gzipped = GzipFile(file, config_.temp_dir);
    std::remove(file.c_str());
    if (!gzipped.ok()) return ReplyError(call, gzipped.status());
    file = std::move(gzipped).value();
  }
  HttpReply reply;
  reply.SetHeader("Content-Type", sql && !params.Has("compress") ? "application/sql" : "application/octet-stream");
  reply.SetHeader("X-RQLITE-SERVED-BY", backend_->ServedBy());
  reply.file_path = std::move(file);
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleLoad(const std::shared_ptr<Call>& call) {
  std::string body = std::move(call->request.body);
  Done done = DataDone(call, false);
  if (body.substr(0, kSqliteMagic.size()) == kSqliteMagic) {
    return backend_->LoadDatabase(std::move(body), OptionsFor(call->params, call->request), std::move(done));
  }
  if (body.empty()) return ReplyError(call, Status::InvalidArgument(kErrNoStatements));
  // Neither a database nor SQL text: refused here, before it reaches the
  // log, where every replica would have to apply it.
  if (std::optional<size_t> bad = FirstInvalidUtf8Byte(body)) {
    return ReplyError(call, Status::InvalidArgument("invalid load data: neither a SQLite database nor UTF-8 SQL text "
                                                    "(byte " + std::to_string(*bad) + ")"));
  }
  backend_->LoadDump(std::move(body), OptionsFor(call->params, call->request), std::move(done));
}

void Handler::HandleBoot(const std::shared_ptr<Call>& call) {
  if (call->request.body_path.empty()) return ReplyError(call, Status::InvalidArgument("invalid SQLite data"));
  Status status = backend_->Boot(call->request.body_path);
  if (status.IsInvalidArgument()) return ReplyError(call, status);
  if (!status.ok()) return ReplyError(call, Status::Unavailable(status.message()));
  HttpReply reply;
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleRemove(const std::shared_ptr<Call>& call) {
  call->served_by = true;
  Result<std::string> id = ParseIdBody(call->request.body, true);
  if (!id.ok()) return ReplyError(call, id.status());
  if (id->empty()) return ReplyError(call, Status::InvalidArgument("node id must not be empty"));
  const Nanos timeout = call->params.Timeout(std::chrono::seconds(30));
  Status status = backend_->RemoveNodeAs(id.value(), timeout, ParseBasicAuth(call->request.authorization));
  if (!status.ok()) return ReplyError(call, status);
  HttpReply reply;
  reply.SetHeader("X-RQLITE-SERVED-BY", backend_->ServedBy());
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleLeader(const std::shared_ptr<Call>& call) {
  if (call->request.method == "GET") {
    std::optional<NodeInfo> leader = backend_->Leader();
    if (!leader) return ReplyError(call, Status::Unavailable("leader not found"));
    HttpReply reply = JsonReply(RenderNode(*leader, call->params.pretty()));
    AddCommonHeaders(&reply);
    return call->done(std::move(reply));
  }
  call->served_by = true;
  std::string target;
  if (!call->request.body.empty()) {
    Result<std::string> id = ParseIdBody(call->request.body, false);
    if (!id.ok()) return ReplyError(call, id.status());
    target = std::move(id).value();
  }
  const Nanos timeout = call->params.Timeout(std::chrono::seconds(30));
  Status status =
      backend_->StepDownAs(target, call->params.Has("wait"), timeout, ParseBasicAuth(call->request.authorization));
  if (!status.ok()) return ReplyError(call, status);
  HttpReply reply;
  reply.SetHeader("X-RQLITE-SERVED-BY", backend_->ServedBy());
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleSnapshot(const std::shared_ptr<Call>& call) {
  const int64_t trailing_logs = call->params.Int("trailing_logs", 0);
  if (trailing_logs < 0) return ReplyError(call, Status::InvalidArgument("trailing_logs must not be negative"));
  Result<bool> taken = backend_->Snapshot(static_cast<uint64_t>(trailing_logs));
  if (!taken.ok()) return ReplyError(call, taken.status());
  HttpReply reply;
  reply.status = taken.value() ? 200 : 204;
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleReap(const std::shared_ptr<Call>& call) {
  Result<boost::json::value> reaped = backend_->Reap();
  if (!reaped.ok()) return ReplyError(call, reaped.status());
  HttpReply reply = JsonReply(ToGoJson(reaped.value(), call->params.pretty(), false));
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleNodes(const std::shared_ptr<Call>& call) {
  const QueryParams& params = call->params;
  const Nanos timeout = params.Timeout(std::chrono::seconds(30));
  std::vector<NodeInfo> nodes = backend_->Nodes(params.Has("nonvoters"), timeout);
  HttpReply reply = JsonReply(RenderNodes(std::move(nodes), params.Get("ver") == "2", params.pretty()));
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleReadyz(const std::shared_ptr<Call>& call) {
  const QueryParams& params = call->params;
  const Nanos timeout = params.Timeout(std::chrono::seconds(30));
  bool all_ok = true;
  std::string body;
  if (params.Has("noleader")) {
    body = "[+]node ok";
  } else {
    body = ReadyzBody(backend_->Ready(false, params.Has("sync"), timeout), &all_ok);
  }
  HttpReply reply = PlainReply(all_ok ? 200 : 503, "");
  reply.body = std::move(body);
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

void Handler::HandleStatus(const std::shared_ptr<Call>& call, bool debug_vars) {
  const QueryParams& params = call->params;
  boost::json::value root = debug_vars ? backend_->DebugVars() : backend_->Status();
  if (params.Has("key")) {
    const std::string key = params.Get("key");
    // /debug/vars filters on a top-level key only; /status takes a dotted path.
    if (debug_vars) {
      const auto* object = root.if_object();
      const auto* found = object ? object->if_contains(key) : nullptr;
      root = found ? *found : boost::json::value(boost::json::object());
    } else {
      root = SelectPath(root, key);
    }
  }
  HttpReply reply = JsonReply(ToGoJson(root, params.pretty(), true));
  AddCommonHeaders(&reply);
  call->done(std::move(reply));
}

}  // namespace rq::http
