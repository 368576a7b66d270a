#include "http/handler.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "base/contain.h"
#include "base/thread_name.h"
#include "http/console_assets.h"
#include "http/handler_internal.h"
#include "http/http_metrics.h"
#include "base/json_writer.h"
#include "http/request_parser.h"
#include "http/response_json.h"

namespace rq::http {

namespace {

using Nanos = std::chrono::nanoseconds;
constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

struct Route {
  std::string_view path;
  bool prefix;
  Endpoint endpoint;
};

// rqlite's order: prefix routes first, then exact ones.
constexpr Route kRoutes[] = {
    {"/db/execute", true, Endpoint::kExecute},   {"/db/query", true, Endpoint::kQuery},
    {"/db/request", true, Endpoint::kRequest},   {"/db/backup", true, Endpoint::kBackup},
    {"/db/load", true, Endpoint::kLoad},         {"/db/sql", true, Endpoint::kSql},
    {"/remove", true, Endpoint::kRemove},        {"/status", true, Endpoint::kStatus},
    {"/nodes", true, Endpoint::kNodes},          {"/readyz", true, Endpoint::kReadyz},
    {"/debug/pprof", true, Endpoint::kPprof},    {"/console/", true, Endpoint::kConsole},
    {"/boot", false, Endpoint::kBoot},           {"/snapshot", false, Endpoint::kSnapshot},
    {"/reap", false, Endpoint::kReap},           {"/leader", false, Endpoint::kLeader},
    {"/licenses", false, Endpoint::kLicenses},   {"/debug/vars", false, Endpoint::kDebugVars},
    {"/metrics", false, Endpoint::kMetrics},
    {"/console", false, Endpoint::kConsoleRedirect}, {"/", false, Endpoint::kRoot},
};

struct EndpointRule {
  std::vector<std::string_view> methods;
  std::vector<std::string_view> perms;  // all required
};

EndpointRule RuleFor(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kExecute: return {{"POST"}, {"execute"}};
    case Endpoint::kQuery: return {{"GET", "POST"}, {"query"}};
    case Endpoint::kRequest: return {{"POST"}, {"query", "execute"}};
    case Endpoint::kSql: return {{"GET", "POST"}, {"query"}};
    case Endpoint::kBackup: return {{"GET"}, {"backup"}};
    case Endpoint::kLoad: return {{"POST"}, {"load"}};
    case Endpoint::kBoot: return {{"POST"}, {"load"}};
    case Endpoint::kRemove: return {{"DELETE"}, {"remove"}};
    case Endpoint::kLeader: return {{"GET", "POST"}, {"leader-ops"}};
    case Endpoint::kSnapshot: return {{"POST"}, {"snapshot"}};
    case Endpoint::kReap: return {{"POST"}, {"snapshot"}};
    case Endpoint::kNodes:
    case Endpoint::kStatus:
    case Endpoint::kDebugVars:
    case Endpoint::kMetrics:
    case Endpoint::kPprof:
    case Endpoint::kLicenses: return {{"GET"}, {"status"}};
    case Endpoint::kReadyz: return {{"GET"}, {"ready"}};
    case Endpoint::kConsole: return {{"GET", "HEAD"}, {"ui"}};
    case Endpoint::kRoot:
    case Endpoint::kConsoleRedirect:
    case Endpoint::kNotFound: return {{}, {}};
  }
  return {{}, {}};
}

constexpr std::string_view kLicenses =
    "rqlite-cpp is a C++ reimplementation of the rqlite HTTP API.\n"
    "It links SQLite (public domain), Boost (Boost Software License 1.0),\n"
    "OpenSSL (Apache License 2.0), zlib (zlib license), protobuf (BSD-3-Clause),\n"
    "spdlog and fmt (MIT) and libedit (BSD-3-Clause).\n";

// The console's pages may load only what this node serves.
constexpr std::string_view kConsolePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

}  // namespace

namespace internal {

HttpReply PlainReply(int status, std::string_view message) {
  HttpReply reply;
  reply.status = status;
  reply.SetHeader("Content-Type", "text/plain; charset=utf-8");
  reply.SetHeader("X-Content-Type-Options", "nosniff");
  reply.body = std::string(message) + "\n";
  return reply;
}

HttpReply JsonReply(std::string body) {
  HttpReply reply;
  // Room for what every JSON answer gets: this, X-Rqlite-Served-By and the
  // common headers, without growing the vector three times.
  reply.headers.reserve(8);
  reply.SetHeader("Content-Type", std::string(kJsonType));
  reply.body = std::move(body);
  return reply;
}

HttpReply RedirectReply(int status, std::string location) {
  HttpReply reply;
  reply.status = status;
  reply.SetHeader("Location", std::move(location));
  return reply;
}

// "/status?key=a" -> ("/status", "key=a")
// An absolute-form target (sent through proxies) is reduced to its path.
std::pair<std::string, std::string> SplitTarget(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) != scheme) continue;
    const size_t path = target.find_first_of("/?", scheme.size());
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    if (target.front() == '?') return {"/", std::string(target.substr(1))};
  }
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return {std::string(target), ""};
  return {std::string(target.substr(0, question)), std::string(target.substr(question + 1))};
}

bool IsTextPlain(std::string_view content_type) {
  constexpr std::string_view kPlain = "text/plain";
  if (content_type.size() < kPlain.size()) return false;
  for (size_t i = 0; i < kPlain.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(content_type[i])) != kPlain[i]) return false;
  }
  return content_type.size() == kPlain.size() || content_type[kPlain.size()] == ';' ||
         content_type[kPlain.size()] == ' ';
}

std::string TempPath(const std::string& dir, std::string_view stem) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  std::error_code ec;
  const std::filesystem::path base = dir.empty() ? std::filesystem::temp_directory_path(ec) : std::filesystem::path(dir);
  return (base / (std::string(stem) + std::to_string(random()))).string();
}

// Gzips `source` into a new temporary file, in bounded chunks.
Result<std::string> GzipFile(const std::string& source, const std::string& temp_dir) {
  std::FILE* input = std::fopen(source.c_str(), "rb");
  if (input == nullptr) return Status::IOError("cannot open backup " + source);
  const std::string target = TempPath(temp_dir, "rqlite-backup-gz-");
  gzFile output = gzopen(target.c_str(), "wb");
  if (output == nullptr) {
    std::fclose(input);
    return Status::IOError("cannot create " + target);
  }
  std::vector<char> chunk(1 << 16);
  bool ok = true;
  size_t count = 0;
  while (ok && (count = std::fread(chunk.data(), 1, chunk.size(), input)) > 0) {
    ok = gzwrite(output, chunk.data(), static_cast<unsigned>(count)) == static_cast<int>(count);
  }
  ok = ok && !std::ferror(input);
  std::fclose(input);
  ok = gzclose(output) == Z_OK && ok;
  if (!ok) {
    std::remove(target.c_str());
    return Status::IOError("gzip of backup failed");
  }
  return target;
}

// /status?key=a.b: the sub-value at that dotted path, or {} when missing.
boost::json::value SelectPath(const boost::json::value& root, std::string_view path) {
  const boost::json::value* current = &root;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    const auto* object = current->if_object();
    const boost::json::value* next = object ? object->if_contains(part) : nullptr;
    if (next == nullptr) return boost::json::object();
    current = next;
  }
  return *current;
}

}  // namespace internal

using namespace internal;

HttpMetrics& HttpCounters() {
  static HttpMetrics counters;
  return counters;
}

namespace {

// The per-endpoint counters of the http map (rqlite counts in ServeHTTP).
void CountRequest(Endpoint endpoint) {
  HttpMetrics& counters = HttpCounters();
  switch (endpoint) {
    case Endpoint::kExecute: counters.executions.Add(); return;
    case Endpoint::kQuery: counters.queries.Add(); return;
    case Endpoint::kRequest: counters.requests.Add(); return;
    case Endpoint::kSql: counters.sql_analyze.Add(); return;
    case Endpoint::kBackup: counters.backups.Add(); return;
    case Endpoint::kLoad: counters.loads.Add(); return;
    case Endpoint::kBoot: counters.boot.Add(); return;
    case Endpoint::kSnapshot: counters.user_snapshots.Add(); return;
    case Endpoint::kReap: counters.user_reaps.Add(); return;
    case Endpoint::kReadyz: counters.num_readyz.Add(); return;
    case Endpoint::kStatus: counters.num_status.Add(); return;
    case Endpoint::kConsole: counters.ui.Add(); return;
    default: return;
  }
}

}  // namespace

Endpoint ClassifyPath(std::string_view path) {
  if (path.empty()) return Endpoint::kRoot;
  for (const Route& route : kRoutes) {
    const bool match = route.prefix ? path.substr(0, route.path.size()) == route.path : path == route.path;
    if (match) return route.endpoint;
  }
  return Endpoint::kNotFound;
}

void HttpReply::SetHeader(std::string name, std::string value) {
  for (auto& [key, existing] : headers) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* HttpReply::FindHeader(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

Handler::Handler(HandlerConfig config, Backend* backend, const AuthStore* auth)
    : config_(std::move(config)), backend_(backend), auth_(auth) {
  RQ_ASSERT(backend_ != nullptr);
  RQ_ASSERT(auth_ != nullptr);
}

Handler::~Handler() {
  std::unique_lock lock(threads_mutex_);
  threads_done_.wait(lock, [this] { return threads_running_ == 0; });
}

void Handler::RunOnOwnThread(std::function<void()> fn) {
  {
    std::lock_guard lock(threads_mutex_);
    ++threads_running_;
  }
  std::thread([this, fn = std::move(fn)]() mutable {
    NameThisThread("http-call");
    CallContained("http: a blocking call", fn);
    fn = nullptr;  // its captures (the call, the session's reply callback) go while the server is whole
    std::lock_guard lock(threads_mutex_);
    --threads_running_;
    threads_done_.notify_all();  // under the lock: the Handler may go right after
  }).detach();
}

namespace {

// The reply callback of one request, made safe to call twice: the second
// call (an exception after the answer was sent) does nothing.
ReplyFn AnswerOnce(ReplyFn done) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  return [answered, done = std::move(done)](HttpReply reply) {
    if (!answered->exchange(true)) done(std::move(reply));
  };
}

// Endpoints whose backend calls block: RPCs with timeouts, whole-file work.
bool Blocks(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kBackup:
    case Endpoint::kBoot:
    case Endpoint::kRemove:
    case Endpoint::kLeader:
    case Endpoint::kSnapshot:
    case Endpoint::kReap:
    case Endpoint::kNodes:
    case Endpoint::kReadyz:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Handler::AddCommonHeaders(HttpReply* reply) const {
  reply->headers.reserve(reply->headers.size() + 6);
  reply->SetHeader("X-RQLITE-VERSION", config_.version);
  if (!config_.allow_origin.empty()) reply->SetHeader("Access-Control-Allow-Origin", config_.allow_origin);
  reply->SetHeader("Access-Control-Allow-Methods", "OPTIONS, GET, POST");
  if (auth_->enabled()) {
    reply->SetHeader("Access-Control-Allow-Headers", "Content-Type, Authorization");
    reply->SetHeader("Access-Control-Allow-Credentials", "true");
    reply->SetHeader("WWW-Authenticate", "Basic realm=\"rqlite\"");
  } else {
    reply->SetHeader("Access-Control-Allow-Headers", "Content-Type");
  }
}

bool Handler::Precheck(const HttpRequest& request, HttpReply* reply) const {
  auto [path, raw_query] = SplitTarget(request.target);
  const auto answer = [&](HttpReply r) {
    *reply = std::move(r);
    AddCommonHeaders(reply);
    return true;
  };
  if (request.method == "OPTIONS") return answer(HttpReply());
  const QueryParams params = QueryParams::Parse(raw_query);
  if (Status valid = params.Validate(); !valid.ok()) return answer(PlainReply(400, valid.message()));
  const Endpoint endpoint = ClassifyPath(path);
  if (endpoint == Endpoint::kRoot) return answer(RedirectReply(302, "/console/"));
  if (endpoint == Endpoint::kConsoleRedirect) return answer(RedirectReply(301, "/console/"));
  if (endpoint == Endpoint::kNotFound) return answer(HttpReply{404, {}, "", ""});
  const EndpointRule rule = RuleFor(endpoint);
  const std::optional<Credentials> credentials = ParseBasicAuth(request.authorization);
  for (std::string_view perm : rule.perms) {
    const bool allowed = auth_->IsAllowed(credentials, perm);
    (allowed ? HttpCounters().auth_ok : HttpCounters().auth_fail).Add();
    if (!allowed) return answer(HttpReply{401, {}, "", ""});
  }
  bool method_ok = false;
  for (std::string_view method : rule.methods) method_ok = method_ok || method == request.method;
  if (!method_ok) return answer(PlainReply(405, "method not allowed"));
  if (endpoint == Endpoint::kPprof) return answer(PlainReply(404, "pprof is not available"));
  return false;
}

void Handler::Handle(HttpRequest request, ReplyFn done) {
  const auto started = std::chrono::steady_clock::now();
  const Endpoint endpoint = ClassifyPath(SplitTarget(request.target).first);
  done = [endpoint, started, done = std::move(done)](HttpReply reply) {
    ObserveReply(endpoint, reply.status, std::chrono::steady_clock::now() - started);
    done(std::move(reply));
  };
  HttpReply early;
  if (!request.prechecked && Precheck(request, &early)) {
    if (!request.body_path.empty()) std::remove(request.body_path.c_str());
    done(std::move(early));
    return;
  }
  auto call = std::make_shared<Call>();
  std::tie(call->path, call->raw_query) = SplitTarget(request.target);
  call->params = QueryParams::Parse(call->raw_query);
  call->request = std::move(request);
  call->done = AnswerOnce(std::move(done));
  CountRequest(endpoint);
  if (Blocks(endpoint)) {
    RunOnOwnThread([this, endpoint, call] { DispatchContained(endpoint, call); });
    return;
  }
  DispatchContained(endpoint, call);
}

// A handler that throws (a limit of a library, an allocation, a bug) costs
// its own request a 500, never the node: the exception is logged with the
// request line and the client is answered unless it already was.
void Handler::DispatchContained(Endpoint endpoint, const std::shared_ptr<Call>& call) {
  try {
    Dispatch(endpoint, call);
  } catch (...) {
    LogCurrentException("http: " + call->request.method + " " + call->path);
    HttpReply reply = PlainReply(500, "internal error");
    AddCommonHeaders(&reply);
    call->done(std::move(reply));
  }
}

void Handler::Dispatch(Endpoint endpoint, const std::shared_ptr<Call>& call) {
  const auto send = [&](HttpReply reply) {
    AddCommonHeaders(&reply);
    call->done(std::move(reply));
  };
  switch (endpoint) {
    case Endpoint::kExecute: return HandleExecute(call);
    case Endpoint::kQuery: return HandleQuery(call);
    case Endpoint::kRequest: return HandleRequest(call);
    case Endpoint::kSql: return HandleSql(call);
    case Endpoint::kBackup: return HandleBackup(call);
    case Endpoint::kLoad: return HandleLoad(call);
    case Endpoint::kBoot: return HandleBoot(call);
    case Endpoint::kRemove: return HandleRemove(call);
    case Endpoint::kLeader: return HandleLeader(call);
    case Endpoint::kSnapshot: return HandleSnapshot(call);
    case Endpoint::kReap: return HandleReap(call);
    case Endpoint::kNodes: return HandleNodes(call);
    case Endpoint::kReadyz: return HandleReadyz(call);
    case Endpoint::kStatus: return HandleStatus(call, false);
    case Endpoint::kDebugVars: return HandleStatus(call, true);
    case Endpoint::kMetrics: {
      HttpReply reply;
      reply.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      reply.body = backend_->PrometheusText();
      return send(std::move(reply));
    }
    case Endpoint::kLicenses: {
      HttpReply reply = PlainReply(200, "");
      reply.body = std::string(kLicenses);
      return send(std::move(reply));
    }
    case Endpoint::kConsole: {
      std::string_view name = std::string_view(call->path).substr(std::string_view("/console/").size());
      if (name.empty()) name = "index.html";
      for (const ConsoleAsset& asset : ConsoleAssets()) {
        if (asset.name != name) continue;
        HttpReply reply;
        reply.SetHeader("Content-Type", std::string(asset.content_type));
        reply.SetHeader("Cache-Control", "no-cache");
        reply.SetHeader("X-Content-Type-Options", "nosniff");
        reply.SetHeader("Content-Security-Policy", std::string(kConsolePolicy));
        if (call->request.method != "HEAD") reply.body = std::string(asset.body);
        return send(std::move(reply));
      }
      return send(PlainReply(404, "no such console file"));
    }
    case Endpoint::kRoot:
    case Endpoint::kConsoleRedirect:
    case Endpoint::kPprof:
    case Endpoint::kNotFound: break;
  }
  RQ_UNREACHABLE();  // Precheck answered these
}

}  // namespace rq::http
