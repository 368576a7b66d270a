#include "node/auto_backup.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "backup/config.h"
#include "base/logging.h"

namespace rq::node {

class AutoBackup::Source final : public backup::BackupSource {
 public:
  explicit Source(store::Store* store) : store_(store) {}

  bool IsLeader() override { return store_->is_leader(); }

  // The last entry that changed the database: grows with every write, and
  // not with no-ops or membership changes, so an idle cluster is skipped.
  Result<uint64_t> LastIndex() override { return store_->status().db_applied.value(); }

  Status WriteBackup(const std::string& path, bool vacuum) override {
    Result<std::string> made = store_->Backup(store::Store::BackupFormat::kBinary, vacuum, {});
    if (!made.ok()) return made.status();
    std::error_code ec;
    std::filesystem::rename(*made, path, ec);
    if (!ec) return Status::OK();
    // Another file system: copy, then drop the original.
    std::filesystem::copy_file(*made, path, std::filesystem::copy_options::overwrite_existing, ec);
    std::remove(made->c_str());
    if (ec) return Status::IOError("cannot move the backup to " + path + ": " + ec.message());
    return Status::OK();
  }

 private:
  store::Store* store_;
};

Result<std::unique_ptr<AutoBackup>> AutoBackup::Start(const std::string& config_file, store::Store* store,
                                                      const std::string& temp_dir) {
  Result<backup::BackupConfig> config = backup::ReadBackupConfigFile(config_file);
  if (!config.ok()) return Status::InvalidArgument("-auto-backup " + config_file + ": " + config.status().message());
  std::unique_ptr<AutoBackup> backup(new AutoBackup());
  auto storage = backup::NewStorageClient(config->storage, config->timestamp, &backup->cancel_);
  if (!storage.ok()) return Status::InvalidArgument("-auto-backup " + config_file + ": " + storage.status().message());
  backup::UploaderOptions options = backup::UploaderOptions::FromConfig(*config);
  options.cancel = &backup->cancel_;
  options.temp_dir = temp_dir;
  backup->source_ = std::make_unique<Source>(store);
  RQ_LOG_INFO("auto-backup to {} every {}s{}", (*storage)->Describe(),
              std::chrono::duration_cast<std::chrono::seconds>(options.interval).count(),
              options.compress ? ", compressed" : "");
  backup->uploader_ = std::make_unique<backup::Uploader>(std::move(storage).value(), *backup->source_, options);
  backup->uploader_->Start();
  return backup;
}

AutoBackup::~AutoBackup() { Stop(); }

void AutoBackup::Stop() {
  if (uploader_) uploader_->Stop();
}

Result<std::optional<std::string>> DownloadAutoRestore(const std::string& config_file, bool node_has_data,
                                                       const std::string& dir) {
  if (node_has_data) {
    RQ_LOG_INFO("auto-restore skipped: this node already has data");
    return std::optional<std::string>();
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  Result<backup::AutoRestoreResult> restored = backup::RunAutoRestore(config_file, dir);
  if (!restored.ok()) return Status::InvalidArgument("-auto-restore " + config_file + ": " + restored.status().message());
  if (restored->action == backup::AutoRestoreResult::Action::kContinue) {
    RQ_LOG_WARN("auto-restore failed, continuing without it (continue_on_failure): {}",
                restored->error.ToString());
    return std::optional<std::string>();
  }
  RQ_LOG_INFO("auto-restore downloaded {} bytes{}, checked as a SQLite database", restored->file.downloaded_bytes,
              restored->file.was_compressed ? " (gzip)" : "");
  return std::optional<std::string>(restored->file.path);
}

Status LoadAutoRestore(store::Store* store, const std::string& path, std::chrono::seconds wait_for_leader) {
  const auto remove = [&path] { std::remove(path.c_str()); };
  const auto deadline = std::chrono::steady_clock::now() + wait_for_leader;
  while (store->leader_id().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!store->is_leader()) {
    remove();
    RQ_LOG_INFO("auto-restore not loaded: another node leads this cluster and its data is the cluster's");
    return Status::OK();
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream image;
  image << in.rdbuf();
  remove();
  if (!in.good() && !in.eof()) return Status::IOError("cannot read the restored database " + path);
  std::promise<Result<command::Response>> loaded;
  store->Load(image.str(), [&loaded](Result<command::Response> r) { loaded.set_value(std::move(r)); });
  Result<command::Response> result = loaded.get_future().get();
  if (!result.ok()) return Status::FromCode(result.status().code(), "auto-restore load: " + result.status().message());
  if (!result->error.empty()) return Status::InvalidArgument("auto-restore load: " + result->error);
  RQ_LOG_INFO("auto-restore loaded into the cluster");
  return Status::OK();
}

}  // namespace rq::node
