// FakeBackend: a scripted http::Backend for handler and server tests. It
// records every call and answers with whatever the test put in its fields.
// Thread-safety: calls may come from any server thread; every member is
// guarded by mu. Test-only.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "http/backend.h"

namespace rq::http::testing {

class FakeBackend : public Backend {
 public:
  struct Call {
    std::string method;
    command::Request request;
    CallOptions options;
  };

  std::mutex mu;
  std::vector<Call> calls;
  Result<command::Response> data_result = command::Response{};
  rq::Status status_result;  // StepDown, RemoveNode, Boot
  Result<QueueResult> queue_result = QueueResult{7};
  rq::Status wait_result;
  std::string backup_contents = "SQLite format 3";
  bool backup_fails = false;
  std::string boot_contents;  // what /boot delivered
  bool snapshot_taken = true;
  std::optional<NodeInfo> leader;
  std::vector<NodeInfo> nodes;
  std::vector<ReadyCheck> ready_checks{{"node", true, ""}, {"leader", true, ""}, {"store", true, ""}};
  std::string prometheus_text;
  boost::json::value status_json;
  std::string leader_url;
  std::string last_remove_id;
  std::string last_stepdown_id;
  std::string last_load;
  BackupOptions last_backup;
  std::vector<RewriteResult> rewrites;
  bool complete_on_thread = false;  // answer data calls from another thread

  size_t CallCount() {
    std::lock_guard lock(mu);
    return calls.size();
  }

  void Execute(command::Request r, const CallOptions& o, Done done) override { Data("execute", r, o, done); }
  void Query(command::Request r, const CallOptions& o, Done done) override { Data("query", r, o, done); }
  void Request(command::Request r, const CallOptions& o, Done done) override { Data("request", r, o, done); }
  std::vector<RewriteResult> PreviewSql(const command::Request& r, const CallOptions& o) override {
    Record("sql", r, o);
    std::lock_guard lock(mu);
    return rewrites;
  }
  Result<QueueResult> Enqueue(command::Request r, const CallOptions& o) override {
    Record("enqueue", r, o);
    std::lock_guard lock(mu);
    return queue_result;
  }
  void WaitForQueue(std::chrono::nanoseconds, std::function<void(rq::Status)> done) override {
    rq::Status result;
    {
      std::lock_guard lock(mu);
      result = wait_result;
    }
    done(result);
  }
  Result<std::string> Backup(const BackupOptions& options) override {
    std::lock_guard lock(mu);
    last_backup = options;
    if (backup_fails) return rq::Status::NotLeader("not leader");
    const std::string path =
        (std::filesystem::temp_directory_path() / ("fake-backup-" + std::to_string(counter_++))).string();
    std::ofstream(path, std::ios::binary) << backup_contents;
    return path;
  }
  void LoadDatabase(std::string image, const CallOptions& o, Done done) override {
    {
      std::lock_guard lock(mu);
      last_load = "db:" + image;
    }
    Data("load", {}, o, done);
  }
  void LoadDump(std::string sql, const CallOptions& o, Done done) override {
    {
      std::lock_guard lock(mu);
      last_load = "sql:" + sql;
    }
    Data("load", {}, o, done);
  }
  rq::Status Boot(const std::string& path) override {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    std::filesystem::remove(path);
    std::lock_guard lock(mu);
    boot_contents = contents.str();
    calls.push_back({"boot", {}, {}});
    return status_result;
  }
  Result<bool> Snapshot(uint64_t) override { return snapshot_taken; }
  Result<boost::json::value> Reap() override {
    return boost::json::value(boost::json::object{{"snapshots_reaped", 1}, {"wals_checkpointed", 0}});
  }
  boost::json::value Status() override { return status_json; }
  boost::json::value DebugVars() override { return status_json; }
  std::string PrometheusText() override { return prometheus_text; }
  std::vector<NodeInfo> Nodes(bool, std::chrono::nanoseconds) override {
    if (hold_nodes) hold_nodes->wait();
    return nodes;
  }
  // When set, Nodes() blocks until it is ready (a slow RPC to the peers).
  std::optional<std::shared_future<void>> hold_nodes;
  std::optional<NodeInfo> Leader() override { return leader; }
  rq::Status StepDown(const std::string& id, bool, std::chrono::nanoseconds) override {
    std::lock_guard lock(mu);
    last_stepdown_id = id;
    return status_result;
  }
  rq::Status RemoveNode(const std::string& id, std::chrono::nanoseconds) override {
    std::lock_guard lock(mu);
    last_remove_id = id;
    return status_result;
  }
  std::vector<ReadyCheck> Ready(bool, bool, std::chrono::nanoseconds) override { return ready_checks; }
  std::string LeaderApiUrl() override { return leader_url; }
  std::string ServedBy() override { return "localhost:4001"; }

 private:
  void Record(const char* method, const command::Request& r, const CallOptions& o) {
    std::lock_guard lock(mu);
    calls.push_back({method, r, o});
  }
  void Data(const char* method, const command::Request& r, const CallOptions& o, Done done) {
    Record(method, r, o);
    Result<command::Response> result = command::Response{};
    bool on_thread = false;
    {
      std::lock_guard lock(mu);
      result = data_result;
      on_thread = complete_on_thread;
    }
    if (!on_thread) return done(std::move(result));
    std::thread([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); }).detach();
  }

  int counter_ = 0;
};

}  // namespace rq::http::testing
