// StoreBackend::PrometheusText (GET /metrics) and WriteMetrics (also what
// the OTLP exporter pushes). The registered series
// (metrics/prometheus.h: HTTP, Raft events, snapshots, fsyncs, queues), then
// the values read at scrape time from the store's cached status, the
// forwarding counters of the proxy map, and the process. Runs on an HTTP
// I/O thread: nothing here waits for the writer or the Raft loop.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "backup/backup_metrics.h"
#include "base/build_info.h"
#include "metrics/prometheus.h"
#include "node/proxy_metrics.h"
#include "node/dir_size.h"
#include "node/store_backend.h"

namespace rq::node {
namespace {

// Prometheus's standard process_* series, from /proc/self.
void WriteProcess(metrics::Sink& out, std::chrono::system_clock::time_point start_time) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which sits in parentheses and may hold
  // spaces: field 14 utime, 15 stime (clock ticks), 23 vsize, 24 rss (pages).
  const size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(fields)), std::istream_iterator<std::string>());
    if (f.size() > 21) {
      const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      out.Counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", {},
                  (std::stod(f[11]) + std::stod(f[12])) / ticks);
      out.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, std::stod(f[20]));
      out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                std::stod(f[21]) * static_cast<double>(::getpagesize()));
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  out.Gauge("process_open_fds", "Number of open file descriptors.", {}, static_cast<double>(fds));
  out.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", {},
            std::chrono::duration<double>(start_time.time_since_epoch()).count());
}

}  // namespace

std::string StoreBackend::PrometheusText() {
  metrics::TextWriter out;
  WriteMetrics(out);
  return out.text();
}

void StoreBackend::WriteMetrics(metrics::Sink& out) {
  metrics::Exposition::Default().WriteTo(out);

  const store::StoreStatus status = store_->status();
  const raft::Membership& members = status.raft.membership;
  const NodeId self(identity_.node_id);
  out.Gauge("rqlite_build_info", "Always 1; the labels say what this binary was built from.",
            {{"version", identity_.version}, {"commit", ThisBuild().commit}, {"branch", ThisBuild().branch}}, 1);
  out.Gauge("rqlite_raft_term", "The current Raft term.", {}, static_cast<double>(status.raft.term.value()));
  out.Gauge("rqlite_raft_commit_index", "The highest log index known committed.", {},
            static_cast<double>(status.raft.commit.value()));
  out.Gauge("rqlite_raft_applied_index", "The highest log index applied to the database.", {},
            static_cast<double>(status.applied.value()));
  out.Gauge("rqlite_raft_last_log_index", "The index of the last entry in the log.", {},
            static_cast<double>(status.raft.last_index.value()));
  out.Gauge("rqlite_raft_snapshot_index", "The log index of the latest snapshot.", {},
            static_cast<double>(status.snapshot_index.value()));
  out.Gauge("rqlite_raft_leader", "1 on the leader, else 0.", {},
            status.raft.role == raft::Role::kLeader ? 1 : 0);
  out.Gauge("rqlite_raft_has_leader", "1 while this node knows a leader, else 0.", {},
            status.raft.leader.empty() ? 0 : 1);
  out.Gauge("rqlite_raft_voter", "1 when this node is a voter, else 0.", {}, members.IsVoter(self) ? 1 : 0);
  out.Gauge("rqlite_cluster_members", "Members of the cluster, by suffrage.", {{"suffrage", "voter"}},
            static_cast<double>(members.voters.size()));
  out.Gauge("rqlite_cluster_members", "", {{"suffrage", "nonvoter"}}, static_cast<double>(members.learners.size()));
  out.Gauge("rqlite_log_size_bytes", "Bytes of the Raft log's segment files.", {},
            static_cast<double>(DirectoryBytes(store_->paths().log_dir)));
  out.Gauge("rqlite_db_size_bytes", "Bytes of the SQLite database file.", {},
            static_cast<double>(status.db_size_bytes));
  out.Gauge("rqlite_db_wal_size_bytes", "Bytes of the SQLite database's WAL file.", {},
            static_cast<double>(status.db_wal_bytes));

  // Requests this node sent on to the leader (the proxy map's counters).
  const ProxyMetrics& proxy = ProxyCounters();
  const std::pair<const char*, const metrics::Counter*> forwarded[] = {
      {"execute", &proxy.remote_executions}, {"query", &proxy.remote_queries},
      {"request", &proxy.remote_requests},   {"backup", &proxy.remote_backups},
      {"load", &proxy.remote_loads},         {"remove", &proxy.remote_remove_node},
      {"stepdown", &proxy.remote_stepdowns}};
  for (const auto& [kind, counter] : forwarded) {
    out.Counter("rqlite_forwarded_requests_total", "Requests forwarded to the leader, by kind.", {{"kind", kind}},
                static_cast<double>(counter->value()));
  }
  const std::pair<const char*, const metrics::Counter*> failed[] = {{"execute", &proxy.remote_executions_failed},
                                                                    {"query", &proxy.remote_queries_failed},
                                                                    {"request", &proxy.remote_requests_failed}};
  for (const auto& [kind, counter] : failed) {
    out.Counter("rqlite_forwarded_requests_failed_total",
                "Forwarded requests that failed (leader unreachable or an error), by kind.", {{"kind", kind}},
                static_cast<double>(counter->value()));
  }
  // -auto-backup and -auto-restore (the uploader and downloader maps).
  const backup::UploaderMetrics& uploads = backup::UploaderCounters();
  const char* kUploads = "rqlite_backup_uploads_total";
  const char* kUploadsHelp = "Automatic backup rounds on this node, by result (skipped: the data had not changed).";
  out.Counter(kUploads, kUploadsHelp, {{"result", "ok"}}, static_cast<double>(uploads.num_uploads_ok.value()));
  out.Counter(kUploads, kUploadsHelp, {{"result", "failed"}}, static_cast<double>(uploads.num_uploads_fail.value()));
  out.Counter(kUploads, kUploadsHelp, {{"result", "skipped"}},
              static_cast<double>(uploads.num_uploads_skipped.value() + uploads.num_uploads_skipped_id.value()));
  out.Counter("rqlite_backup_upload_bytes_total", "Bytes uploaded by automatic backups.", {},
              static_cast<double>(uploads.total_upload_bytes.value()));
  const backup::DownloaderMetrics& downloads = backup::DownloaderCounters();
  out.Counter("rqlite_restore_downloads_total", "Automatic restore downloads, by result.", {{"result", "ok"}},
              static_cast<double>(downloads.num_downloads_ok.value()));
  out.Counter("rqlite_restore_downloads_total", "", {{"result", "failed"}},
              static_cast<double>(downloads.num_downloads_fail.value()));
  WriteProcess(out, start_time_);
}

}  // namespace rq::node
