#include "env/file_system.h"

namespace rq::env {

Result<std::unique_ptr<WritableFile>> FileSystem::NewWritableFileAt(const std::string& path, uint64_t) {
  return Status::NotSupported("positioned writes to " + path);
}

Status FileSystem::WriteFileAtomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  auto file = NewWritableFile(tmp, OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  Status s = (*file)->Append(data);
  if (s.ok()) s = (*file)->Sync();
  Status close_status = (*file)->Close();
  if (s.ok()) s = close_status;
  if (!s.ok()) {
    (void)DeleteFile(tmp);  // best effort: a leftover .tmp is ignored by readers
    return s;
  }
  RQ_RETURN_IF_ERROR(RenameFile(tmp, path));
  return SyncDir(DirName(path));
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace rq::env
