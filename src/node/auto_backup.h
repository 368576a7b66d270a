// -auto-backup and -auto-restore wired to the store (src/backup/ does the
// storage and the schedule). The uploader runs on every node and uploads
// only while this node leads, so a new leader takes over the schedule; a
// restore downloads and checks the object before the node serves, and the
// node loads it through the log once it leads its new cluster, so every
// node that joins later gets the same data.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "backup/restore.h"
#include "backup/uploader.h"
#include "base/status.h"
#include "store/store.h"

namespace rq::node {

class AutoBackup {
 public:
  // Reads the config file and starts the schedule. `temp_dir` holds the
  // files being made and uploaded.
  static Result<std::unique_ptr<AutoBackup>> Start(const std::string& config_file, store::Store* store,
                                                   const std::string& temp_dir);
  ~AutoBackup();
  void Stop();
  boost::json::object StatusJson() const { return uploader_->StatusJson(); }

 private:
  class Source;
  AutoBackup() = default;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<Source> source_;
  std::unique_ptr<backup::Uploader> uploader_;
};

// -auto-restore on a node: nullopt when there is nothing to load (the node
// has data, or continue_on_failure let a failed restore go), else the
// checked database file to load. An error stops the node.
Result<std::optional<std::string>> DownloadAutoRestore(const std::string& config_file, bool node_has_data,
                                                       const std::string& dir);

// Loads `path` through the log once this node leads (a node that only
// joined leaves it: the leader's data wins). Deletes the file.
Status LoadAutoRestore(store::Store* store, const std::string& path, std::chrono::seconds wait_for_leader);

}  // namespace rq::node
