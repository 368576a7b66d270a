// rqbench: load generator for rqlite's HTTP API, compatible with rqlite's
// rqbench options (-a -n -b -m -x -q -p -o) plus -c (concurrent clients,
// each with its own keep-alive connection), -r (bind a random id in
// [1, r] to the statement's `?`) and latency percentiles.
//
// `rqbench -baseline insert|select -dir DIR ...` measures the same work on
// raw SQLite in-process (prepared statements, WAL, synchronous=FULL) on the
// same disk, so results can be reported as ratios measured in one run.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string addr = "localhost:4001";
  int64_t requests = 100;
  int64_t batch = 1;
  int64_t progress_every = 0;
  bool transaction = false;
  bool queued = false;
  std::string path = "/db/execute";
  std::string first_statement;
  int concurrency = 1;
  int64_t random_ids = 0;
  std::string baseline;  // "", "insert", "select"
  std::string dir = ".";
  std::string sql;
};

[[noreturn]] void Usage(const char* message) {
  if (message) std::fprintf(stderr, "rqbench: %s\n", message);
  std::fprintf(stderr,
               "usage: rqbench [options] \"<SQL>\"\n"
               "  -a addr      node HTTP address (localhost:4001)\n"
               "  -n count     requests in total (100)\n"
               "  -b count     statements per request (1)\n"
               "  -m count     print progress every m requests (0: never)\n"
               "  -x           one transaction per request\n"
               "  -q           queued writes\n"
               "  -p path      endpoint (/db/execute; e.g. '/db/query?level=none')\n"
               "  -o sql       statement to run once first (e.g. CREATE TABLE)\n"
               "  -c count     concurrent clients (1)\n"
               "  -r max       bind a random integer in [1,max] to the statement's ?\n"
               "  -baseline insert|select  raw SQLite in-process instead of HTTP\n"
               "  -dir path    directory for the baseline database (.)\n");
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "-a") o.addr = value();
    else if (arg == "-n") o.requests = std::atoll(value().c_str());
    else if (arg == "-b") o.batch = std::atoll(value().c_str());
    else if (arg == "-m") o.progress_every = std::atoll(value().c_str());
    else if (arg == "-x") o.transaction = true;
    else if (arg == "-q") o.queued = true;
    else if (arg == "-p") o.path = value();
    else if (arg == "-o") o.first_statement = value();
    else if (arg == "-c") o.concurrency = std::atoi(value().c_str());
    else if (arg == "-r") o.random_ids = std::atoll(value().c_str());
    else if (arg == "-t") { if (value() != "http") Usage("only the http transport exists"); }
    else if (arg == "-baseline") o.baseline = value();
    else if (arg == "-dir") o.dir = value();
    else if (arg == "-h" || arg == "--help") Usage(nullptr);
    else if (!arg.empty() && arg[0] == '-') Usage(("unknown option " + arg).c_str());
    else if (o.sql.empty()) o.sql = arg;
    else Usage("only one SQL statement may be given");
  }
  if (o.sql.empty()) Usage("no SQL statement given");
  if (o.requests <= 0 || o.batch <= 0 || o.concurrency <= 0) Usage("-n, -b and -c must be positive");
  return o;
}

struct Target {
  std::string host;
  std::string port;
};

Target SplitAddr(const std::string& addr) {
  std::string a = addr;
  if (a.rfind("http://", 0) == 0) a = a.substr(7);
  auto colon = a.rfind(':');
  if (colon == std::string::npos) return {a, "4001"};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

// One keep-alive connection.
class Client {
 public:
  explicit Client(const Target& target) : target_(target), stream_(io_) {
    asio::ip::tcp::resolver resolver(io_);
    stream_.connect(resolver.resolve(target.host, target.port));
    stream_.socket().set_option(asio::ip::tcp::no_delay(true));
  }
  // Returns the HTTP status; throws on transport failure.
  int Post(const std::string& target, const std::string& body, std::string* response_body) {
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, target_.host);
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();
    http::write(stream_, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream_, buffer, response);
    if (response_body) *response_body = std::move(response.body());
    return static_cast<int>(response.result_int());
  }

 private:
  Target target_;
  asio::io_context io_;
  beast::tcp_stream stream_;
};

std::string BuildBody(const Options& o, std::mt19937_64& rng) {
  boost::json::array statements;
  for (int64_t i = 0; i < o.batch; ++i) {
    if (o.random_ids > 0) {
      std::uniform_int_distribution<int64_t> dist(1, o.random_ids);
      statements.push_back(boost::json::array{boost::json::string(o.sql), dist(rng)});
    } else {
      statements.push_back(boost::json::string(o.sql));
    }
  }
  return boost::json::serialize(statements);
}

std::string WithParams(const Options& o) {
  std::string target = o.path;
  auto add = [&](const char* param) { target += (target.find('?') == std::string::npos ? "?" : "&") + std::string(param); };
  if (o.transaction) add("transaction");
  if (o.queued) add("queue");
  return target;
}

void PrintReport(const Options& o, double seconds, std::vector<double>& latencies_ms, int64_t failures) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    size_t index = static_cast<size_t>(p * static_cast<double>(latencies_ms.size() - 1));
    return latencies_ms[index];
  };
  double requests = static_cast<double>(o.requests);
  std::printf("Total duration: %.3fs\n", seconds);
  std::printf("Requests/sec: %.2f\n", requests / seconds);
  std::printf("Statements/sec: %.2f\n", requests * static_cast<double>(o.batch) / seconds);
  std::printf("Latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", pct(0.5), pct(0.9), pct(0.99),
              latencies_ms.empty() ? 0.0 : latencies_ms.back());
  std::printf("Failures: %lld\n", static_cast<long long>(failures));
}

int RunHttp(const Options& o) {
  Target target = SplitAddr(o.addr);
  if (!o.first_statement.empty()) {
    Client client(target);
    std::string body = boost::json::serialize(boost::json::array{boost::json::string(o.first_statement)});
    std::string response;
    int status = client.Post("/db/execute", body, &response);
    if (status != 200) std::fprintf(stderr, "first statement: HTTP %d %s\n", status, response.c_str());
  }
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> failures{0};
  std::mutex latency_mutex;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<size_t>(o.requests));
  std::string path = WithParams(o);
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937_64 rng(static_cast<uint64_t>(w) * 7919 + 1);
      std::vector<double> mine;
      try {
        Client client(target);
        for (;;) {
          int64_t n = next.fetch_add(1);
          if (n >= o.requests) break;
          std::string body = BuildBody(o, rng);
          std::string response;
          auto t0 = Clock::now();
          int status = client.Post(path, body, &response);
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          if (status != 200 || response.find("\"error\"") != std::string::npos) {
            if (failures.fetch_add(1) == 0) std::fprintf(stderr, "first failure: HTTP %d %s\n", status, response.c_str());
          }
          if (o.progress_every > 0 && (n + 1) % o.progress_every == 0) std::fprintf(stderr, "%lld requests\n", static_cast<long long>(n + 1));
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "client %d: %s\n", w, e.what());
        failures.fetch_add(1);
      }
      std::lock_guard lock(latency_mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : workers) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  PrintReport(o, seconds, latencies_ms, failures.load());
  return failures.load() == 0 ? 0 : 1;
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// Raw SQLite on the same disk: the baseline the HTTP figures are divided by.
int RunBaseline(const Options& o) {
  std::string path = (std::filesystem::path(o.dir) / "rqbench-baseline.sqlite").string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  std::atomic<int64_t> next{0};
  std::vector<double> latencies_ms;
  std::mutex latency_mutex;
  {
    sqlite3* db = nullptr;
    Check(sqlite3_open(path.c_str(), &db), db, "open");
    Check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr), db, "pragma");
    if (!o.first_statement.empty()) Check(sqlite3_exec(db, o.first_statement.c_str(), nullptr, nullptr, nullptr), db, "first");
    if (o.baseline == "select" && o.random_ids > 0) {
      // Seed the rows the point reads look up.
      Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
      sqlite3_stmt* insert = nullptr;
      Check(sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO foo(id, name) VALUES(?, 'fiona')", -1, &insert, nullptr), db, "prepare seed");
      for (int64_t id = 1; id <= o.random_ids; ++id) {
        sqlite3_bind_int64(insert, 1, id);
        Check(sqlite3_step(insert), db, "seed");
        sqlite3_reset(insert);
      }
      sqlite3_finalize(insert);
      Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
    sqlite3_close(db);
  }
  int threads = o.baseline == "select" ? o.concurrency : 1;
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937_64 rng(static_cast<uint64_t>(w) + 1);
      sqlite3* db = nullptr;
      int flags = o.baseline == "select" ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
      Check(sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr), db, "open");
      Check(sqlite3_exec(db, "PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr), db, "pragma");
      sqlite3_stmt* stmt = nullptr;
      Check(sqlite3_prepare_v2(db, o.sql.c_str(), -1, &stmt, nullptr), db, "prepare");
      std::vector<double> mine;
      for (;;) {
        int64_t n = next.fetch_add(1);
        if (n >= o.requests) break;
        auto t0 = Clock::now();
        bool wrap = o.batch > 1 || o.transaction;
        if (wrap) Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
        for (int64_t b = 0; b < o.batch; ++b) {
          if (o.random_ids > 0) {
            std::uniform_int_distribution<int64_t> dist(1, o.random_ids);
            sqlite3_bind_int64(stmt, 1, dist(rng));
          }
          int rc;
          while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
          Check(rc, db, "step");
          sqlite3_reset(stmt);
        }
        if (wrap) Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      sqlite3_finalize(stmt);
      sqlite3_close(db);
      std::lock_guard lock(latency_mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : workers) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  PrintReport(o, seconds, latencies_ms, 0);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  if (!o.baseline.empty()) {
    if (o.baseline != "insert" && o.baseline != "select") Usage("-baseline takes insert or select");
    return RunBaseline(o);
  }
  return RunHttp(o);
}
