#include "env/mem_file_system.h"

#include <algorithm>
#include <optional>

namespace rq::env {

struct MemFileSystem::File {
  std::string data;     // what reads see
  std::string durable;  // what survives a crash
  // Unsynced bytes were written below the end (NewWritableFileAt), so a torn
  // crash keeps a prefix of the changed range over the old bytes.
  bool overwritten = false;
};

Status MemFileSystem::CheckGeneration(uint64_t generation) const {
  if (generation != generation_) return Status::IOError("file handle from before a crash");
  return Status::OK();
}

class MemFileSystem::Writable final : public WritableFile {
 public:
  // position: where positioned writes go; nullopt writes at the end.
  Writable(MemFileSystem* fs, std::string path, std::shared_ptr<File> file, uint64_t generation,
           std::optional<uint64_t> position = std::nullopt)
      : fs_(fs), path_(std::move(path)), file_(std::move(file)), generation_(generation), position_(position) {}

  Status Append(std::string_view data) override {
    std::lock_guard lock(fs_->mu_);
    RQ_RETURN_IF_ERROR(Usable());
    RQ_RETURN_IF_ERROR(fs_->CountOp("write " + path_));
    if (fs_->fail_writes_ > 0) {
      --fs_->fail_writes_;
      return Status::IOError("write " + path_ + ": No space left on device");
    }
    if (!position_) {
      file_->data.append(data);
      return Status::OK();
    }
    RQ_ASSERT(*position_ <= file_->data.size());
    if (*position_ < file_->data.size()) file_->overwritten = true;
    size_t overlap = std::min<size_t>(data.size(), file_->data.size() - *position_);
    file_->data.replace(*position_, overlap, data.substr(0, overlap));
    file_->data.append(data.substr(overlap));
    *position_ += data.size();
    return Status::OK();
  }

  Status Sync() override {
    std::lock_guard lock(fs_->mu_);
    RQ_RETURN_IF_ERROR(Usable());
    RQ_RETURN_IF_ERROR(fs_->CountOp("fdatasync " + path_));
    if (fs_->fail_syncs_ > 0) {
      --fs_->fail_syncs_;
      return Status::IOError("fdatasync " + path_ + ": Input/output error");
    }
    file_->durable = file_->data;
    file_->overwritten = false;
    return Status::OK();
  }

  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

  uint64_t Size() const override {
    std::lock_guard lock(fs_->mu_);
    return position_ ? *position_ : file_->data.size();
  }

 private:
  Status Usable() const {
    if (closed_) return Status::IOError("write to closed file " + path_);
    return fs_->CheckGeneration(generation_);
  }

  MemFileSystem* const fs_;
  const std::string path_;
  const std::shared_ptr<File> file_;
  const uint64_t generation_;
  std::optional<uint64_t> position_;
  bool closed_ = false;
};

class MemFileSystem::Readable final : public RandomAccessFile {
 public:
  Readable(const MemFileSystem* fs, std::shared_ptr<File> file, uint64_t generation)
      : fs_(fs), file_(std::move(file)), generation_(generation) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard lock(fs_->mu_);
    RQ_RETURN_IF_ERROR(fs_->CheckGeneration(generation_));
    out->clear();
    if (offset >= file_->data.size()) return Status::OK();
    out->assign(file_->data, offset, n);
    return Status::OK();
  }

  Result<uint64_t> Size() const override {
    std::lock_guard lock(fs_->mu_);
    RQ_RETURN_IF_ERROR(fs_->CheckGeneration(generation_));
    return static_cast<uint64_t>(file_->data.size());
  }

 private:
  const MemFileSystem* const fs_;
  const std::shared_ptr<File> file_;
  const uint64_t generation_;
};

MemFileSystem::MemFileSystem() { dirs_.insert("/"); dirs_.insert("."); }
MemFileSystem::~MemFileSystem() = default;

Status MemFileSystem::CountOp(const std::string& what) {
  ++ops_;
  if (crash_at_op_ >= 0 && ops_ > crash_at_op_) return Status::IOError(what + ": simulated crash");
  return Status::OK();
}

std::shared_ptr<MemFileSystem::File> MemFileSystem::Lookup(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : it->second;
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewWritableFile(const std::string& path,
                                                                     OpenMode mode) {
  std::lock_guard lock(mu_);
  if (dirs_.count(DirName(path)) == 0) return Status::NotFound("open " + path + ": no such directory");
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr || mode == OpenMode::kTruncate) {
    RQ_RETURN_IF_ERROR(CountOp("create " + path));
  }
  if (file == nullptr) {
    file = std::make_shared<File>();
    files_[path] = file;
  } else if (mode == OpenMode::kTruncate) {
    file->data.clear();  // like O_TRUNC: not durable until the file is synced
  }
  return std::unique_ptr<WritableFile>(std::make_unique<Writable>(this, path, file, generation_));
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewWritableFileAt(const std::string& path, uint64_t offset) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound("open " + path);
  RQ_ASSERT(offset <= file->data.size());
  return std::unique_ptr<WritableFile>(std::make_unique<Writable>(this, path, file, generation_, offset));
}

Result<std::unique_ptr<RandomAccessFile>> MemFileSystem::NewRandomAccessFile(const std::string& path) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound("open " + path);
  return std::unique_ptr<RandomAccessFile>(std::make_unique<Readable>(this, file, generation_));
}

Result<std::string> MemFileSystem::ReadFile(const std::string& path) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound("open " + path);
  return file->data;
}

Result<std::vector<std::string>> MemFileSystem::ListDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (dirs_.count(dir) == 0) return Status::NotFound("opendir " + dir);
  std::vector<std::string> names;
  for (const auto& [path, file] : files_) {
    if (DirName(path) == dir) names.push_back(path.substr(path.rfind('/') + 1));
  }
  for (const auto& sub : dirs_) {
    if (sub != dir && DirName(sub) == dir) names.push_back(sub.substr(sub.rfind('/') + 1));
  }
  return names;
}

Status MemFileSystem::DeleteFile(const std::string& path) {
  std::lock_guard lock(mu_);
  if (Lookup(path) == nullptr) return Status::NotFound("unlink " + path);
  RQ_RETURN_IF_ERROR(CountOp("unlink " + path));
  files_.erase(path);
  return Status::OK();
}

Status MemFileSystem::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(from);
  if (file == nullptr) return Status::NotFound("rename " + from);
  RQ_RETURN_IF_ERROR(CountOp("rename " + from));
  files_.erase(from);
  files_[to] = file;
  return Status::OK();
}

Status MemFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound("truncate " + path);
  RQ_ASSERT(size <= file->data.size());
  RQ_RETURN_IF_ERROR(CountOp("truncate " + path));
  file->data.resize(size);
  file->durable = file->data;  // Truncate syncs before returning
  file->overwritten = false;
  return Status::OK();
}

Status MemFileSystem::CreateDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (dirs_.count(dir) != 0) return Status::OK();
  if (dirs_.count(DirName(dir)) == 0) return Status::NotFound("mkdir " + dir + ": no parent");
  RQ_RETURN_IF_ERROR(CountOp("mkdir " + dir));
  dirs_.insert(dir);
  return Status::OK();
}

bool MemFileSystem::FileExists(const std::string& path) {
  std::lock_guard lock(mu_);
  return Lookup(path) != nullptr || dirs_.count(path) != 0;
}

Result<uint64_t> MemFileSystem::FileSize(const std::string& path) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound("stat " + path);
  return static_cast<uint64_t>(file->data.size());
}

Status MemFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (dirs_.count(dir) == 0) return Status::NotFound("open " + dir);
  RQ_RETURN_IF_ERROR(CountOp("fsync " + dir));
  if (fail_syncs_ > 0) {
    --fail_syncs_;
    return Status::IOError("fsync " + dir + ": Input/output error");
  }
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    it = DirName(it->first) == dir ? durable_files_.erase(it) : std::next(it);
  }
  for (const auto& [path, file] : files_) {
    if (DirName(path) == dir) durable_files_[path] = file;
  }
  return Status::OK();
}

void MemFileSystem::Crash() {
  std::lock_guard lock(mu_);
  for (auto& [path, file] : durable_files_) {
    std::string& data = file->data;
    const std::string& durable = file->durable;
    bool appended_only = data.size() > durable.size() && data.compare(0, durable.size(), durable) == 0;
    if (tear_ != nullptr && file->overwritten && !appended_only && data.size() >= durable.size()) {
      // In-place writes: a prefix of the changed range reached the disk, the
      // old bytes remain after it.
      size_t same = 0;
      while (same < durable.size() && data[same] == durable[same]) ++same;
      size_t kept = same + tear_->Uniform(data.size() - same + 1);
      data.resize(kept);
      if (kept < durable.size()) data.append(durable, kept);
    } else if (tear_ != nullptr && appended_only) {
      size_t unsynced = data.size() - durable.size();
      size_t kept = tear_->Uniform(unsynced + 1);
      size_t zeros = zero_fill_ && tear_->Chance(1, 2) ? tear_->Uniform(unsynced - kept + 1) : 0;
      data.resize(durable.size() + kept);
      data.append(zeros, '\0');
    } else {
      data = durable;
    }
    file->durable = data;
    file->overwritten = false;
  }
  files_ = durable_files_;
  crash_at_op_ = -1;
  fail_writes_ = 0;
  fail_syncs_ = 0;
  ++generation_;
}

void MemFileSystem::SetTearSource(Random* random, bool zero_fill) {
  std::lock_guard lock(mu_);
  tear_ = random;
  zero_fill_ = zero_fill;
}

void MemFileSystem::FailNextWrites(int count) {
  std::lock_guard lock(mu_);
  fail_writes_ = count;
}

void MemFileSystem::FailNextSyncs(int count) {
  std::lock_guard lock(mu_);
  fail_syncs_ = count;
}

void MemFileSystem::CrashAfterOps(int64_t ops) {
  RQ_ASSERT(ops >= 0);
  std::lock_guard lock(mu_);
  crash_at_op_ = ops_ + ops;
}

int64_t MemFileSystem::op_count() const {
  std::lock_guard lock(mu_);
  return ops_;
}

Result<std::string> MemFileSystem::TEST_DurableContent(const std::string& path) const {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound(path);
  return file->durable;
}

Status MemFileSystem::TEST_Corrupt(const std::string& path, uint64_t offset, std::string_view bytes) {
  std::lock_guard lock(mu_);
  std::shared_ptr<File> file = Lookup(path);
  if (file == nullptr) return Status::NotFound(path);
  if (offset + bytes.size() > file->data.size()) return Status::InvalidArgument("corrupt past end");
  file->data.replace(offset, bytes.size(), bytes);
  if (offset + bytes.size() <= file->durable.size()) file->durable.replace(offset, bytes.size(), bytes);
  return Status::OK();
}

}  // namespace rq::env
