#include "db/extensions.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/shared_library.h"

namespace rq::db {
namespace {

namespace fs = std::filesystem;

// libarchive's reading half, loaded when an archive is first unpacked (a
// node without one does not load it and the seven libraries it brings).
struct ArchiveLibrary {
  archive* (*read_new)() = nullptr;
  int (*read_support_format_zip)(archive*) = nullptr;
  int (*read_support_format_tar)(archive*) = nullptr;
  int (*read_support_filter_gzip)(archive*) = nullptr;
  int (*read_open_filename)(archive*, const char*, size_t) = nullptr;
  int (*read_next_header)(archive*, archive_entry**) = nullptr;
  int (*read_data_block)(archive*, const void**, size_t*, la_int64_t*) = nullptr;
  int (*read_free)(archive*) = nullptr;
  const char* (*error_string)(archive*) = nullptr;
  __LA_MODE_T (*entry_filetype)(archive_entry*) = nullptr;
  const char* (*entry_pathname)(archive_entry*) = nullptr;
};

Result<ArchiveLibrary> BindArchive() {
  Result<SharedLibrary> library = SharedLibrary::Open("libarchive.so.13");
  if (!library.ok()) return library.status();
  ArchiveLibrary a;
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_new", &a.read_new));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_support_format_zip", &a.read_support_format_zip));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_support_format_tar", &a.read_support_format_tar));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_support_filter_gzip", &a.read_support_filter_gzip));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_open_filename", &a.read_open_filename));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_next_header", &a.read_next_header));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_data_block", &a.read_data_block));
  RQ_RETURN_IF_ERROR(library->Bind("archive_read_free", &a.read_free));
  RQ_RETURN_IF_ERROR(library->Bind("archive_error_string", &a.error_string));
  RQ_RETURN_IF_ERROR(library->Bind("archive_entry_filetype", &a.entry_filetype));
  RQ_RETURN_IF_ERROR(library->Bind("archive_entry_pathname", &a.entry_pathname));
  return a;
}

Result<const ArchiveLibrary*> LoadArchive() { return LoadOnce<ArchiveLibrary, BindArchive>(); }

// One extension library is a few MB; this bounds what a hostile archive
// can make us write.
constexpr int64_t kMaxUnpackedBytes = 512LL << 20;

bool IsArchive(const std::string& path) {
  const auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".zip") || ends(".tar.gz") || ends(".tgz");
}

Result<std::vector<std::string>> FilesIn(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) return Status::InvalidArgument("cannot list extensions directory " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::vector<std::string>> Unpack(const std::string& archive_path, const fs::path& target) {
  std::error_code ec;
  fs::remove_all(target, ec);
  fs::create_directories(target, ec);
  if (ec) return Status::IOError("cannot create " + target.string() + ": " + ec.message());
  Result<const ArchiveLibrary*> loaded = LoadArchive();
  if (!loaded.ok()) {
    return Status::InvalidArgument("cannot unpack extensions archive " + archive_path + ": " + loaded.status().message());
  }
  const ArchiveLibrary& lib = **loaded;
  struct archive* in = lib.read_new();
  if (in == nullptr) return Status::Internal("archive_read_new failed");
  lib.read_support_format_zip(in);
  lib.read_support_format_tar(in);
  lib.read_support_filter_gzip(in);
  const auto fail = [&](const std::string& what) {
    Status status = Status::InvalidArgument("cannot unpack extensions archive " + archive_path + ": " + what);
    lib.read_free(in);
    return status;
  };
  if (lib.read_open_filename(in, archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(lib.error_string(in) ? lib.error_string(in) : "unreadable");
  }
  int64_t written = 0;
  std::vector<std::string> files;
  struct archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = lib.read_next_header(in, &entry)) == ARCHIVE_OK) {
    if (lib.entry_filetype(entry) != AE_IFREG) continue;
    const fs::path name = fs::path(lib.entry_pathname(entry)).filename();  // no way out of target
    if (name.empty() || name == "." || name == "..") continue;
    const fs::path out_path = target / name;
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) return fail("cannot write " + out_path.string());
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int data_rc = ARCHIVE_OK;
    while ((data_rc = lib.read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
      written += static_cast<int64_t>(size);
      if (written > kMaxUnpackedBytes) return fail("more than 512 MiB unpacked");
      out.write(static_cast<const char*>(block), static_cast<std::streamsize>(size));
    }
    if (data_rc != ARCHIVE_EOF) return fail(lib.error_string(in) ? lib.error_string(in) : "bad data");
    if (!out.flush()) return fail("cannot write " + out_path.string());
    files.push_back(out_path.string());
  }
  if (rc != ARCHIVE_EOF) return fail(lib.error_string(in) ? lib.error_string(in) : "bad header");
  lib.read_free(in);
  std::sort(files.begin(), files.end());
  if (files.empty()) return Status::InvalidArgument("extensions archive " + archive_path + " holds no file");
  return files;
}

}  // namespace

Result<std::vector<std::string>> ResolveExtensions(const std::vector<std::string>& entries,
                                                    const std::string& unpack_dir) {
  std::vector<std::string> libraries;
  for (const std::string& entry : entries) {
    if (entry.empty()) continue;
    std::error_code ec;
    const fs::file_status status = fs::status(entry, ec);
    if (ec || !fs::exists(status)) return Status::InvalidArgument("extensions path " + entry + " does not exist");
    Result<std::vector<std::string>> found = std::vector<std::string>{};
    if (fs::is_directory(status)) {
      found = FilesIn(entry);
    } else if (fs::is_regular_file(status) && IsArchive(entry)) {
      found = Unpack(entry, fs::path(unpack_dir) / fs::path(entry).filename());
    } else if (fs::is_regular_file(status)) {
      found = std::vector<std::string>{entry};
    } else {
      return Status::InvalidArgument("extensions path " + entry + " is neither a file nor a directory");
    }
    if (!found.ok()) return found.status();
    libraries.insert(libraries.end(), found->begin(), found->end());
  }
  return libraries;
}

}  // namespace rq::db
