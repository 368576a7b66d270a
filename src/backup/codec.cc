// SHA-256, HMAC, gzip and temporary files for backup and restore.
#include "backup/codec.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace rq::backup {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

Status Errno(std::string_view what, const std::string& path) {
  return Status::IOError(std::string(what) + " " + path + ": " + std::strerror(errno));
}

Result<File> Open(const std::string& path, const char* mode) {
  File f(std::fopen(path.c_str(), mode));
  if (!f) return Errno("cannot open", path);
  return f;
}

Status CloseWritten(File f, const std::string& path) {
  if (std::fflush(f.get()) != 0) return Errno("cannot write", path);
  if (::fsync(::fileno(f.get())) != 0) return Errno("cannot sync", path);
  if (std::fclose(f.release()) != 0) return Errno("cannot close", path);
  return Status::OK();
}

Result<std::string> ReadPrefix(const std::string& path, size_t bytes) {
  Result<File> f = Open(path, "rb");
  if (!f.ok()) return f.status();
  std::string prefix(bytes, '\0');
  size_t got = std::fread(prefix.data(), 1, bytes, f->get());
  if (std::ferror(f->get())) return Errno("cannot read", path);
  prefix.resize(got);
  return prefix;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  RQ_ASSERT(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  RQ_ASSERT(length == 32);
  return std::string(reinterpret_cast<char*>(digest), length);
}

Result<std::string> Sha256File(const std::string& path, uint64_t offset, uint64_t length) {
  Result<File> f = Open(path, "rb");
  if (!f.ok()) return f.status();
  if (offset > 0 && ::fseeko(f->get(), static_cast<off_t>(offset), SEEK_SET) != 0) return Errno("cannot seek", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  RQ_ASSERT(ctx != nullptr);
  RQ_ASSERT(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1);
  std::vector<char> buffer(kChunkBytes);
  uint64_t left = length;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    size_t got = std::fread(buffer.data(), 1, want, f->get());
    if (got == 0) break;
    RQ_ASSERT(EVP_DigestUpdate(ctx.get(), buffer.data(), got) == 1);
    left -= got;
  }
  if (std::ferror(f->get())) return Errno("cannot read", path);
  if (length != UINT64_MAX && left != 0) return Status::IOError("file shorter than expected: " + path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  RQ_ASSERT(EVP_DigestFinal_ex(ctx.get(), digest, &size) == 1);
  return std::string(reinterpret_cast<char*>(digest), size);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  unsigned char* ok = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  RQ_ASSERT(ok != nullptr);
  return std::string(reinterpret_cast<char*>(mac), length);
}

Status GzipFile(const std::string& from, const std::string& to) {
  Result<File> in = Open(from, "rb");
  if (!in.ok()) return in.status();
  Result<File> out = Open(to, "wb");
  if (!out.ok()) return out.status();
  z_stream z{};
  // 15 + 16: a gzip wrapper with zlib's default header (mtime 0, no name).
  RQ_ASSERT(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&z, deflateEnd);
  std::vector<unsigned char> input(kChunkBytes), output(kChunkBytes);
  int flush = Z_NO_FLUSH;
  while (flush != Z_FINISH) {
    size_t got = std::fread(input.data(), 1, input.size(), in->get());
    if (std::ferror(in->get())) return Errno("cannot read", from);
    flush = std::feof(in->get()) ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = input.data();
    z.avail_in = static_cast<uInt>(got);
    do {
      z.next_out = output.data();
      z.avail_out = static_cast<uInt>(output.size());
      int rc = deflate(&z, flush);
      RQ_ASSERT(rc != Z_STREAM_ERROR);
      size_t produced = output.size() - z.avail_out;
      if (std::fwrite(output.data(), 1, produced, out->get()) != produced) return Errno("cannot write", to);
    } while (z.avail_out == 0);
    RQ_ASSERT(z.avail_in == 0);
  }
  return CloseWritten(std::move(*out), to);
}

Status GunzipFile(const std::string& from, const std::string& to) {
  Result<File> in = Open(from, "rb");
  if (!in.ok()) return in.status();
  Result<File> out = Open(to, "wb");
  if (!out.ok()) return out.status();
  z_stream z{};
  RQ_ASSERT(inflateInit2(&z, 15 + 16) == Z_OK);
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, inflateEnd);
  std::vector<unsigned char> input(kChunkBytes), output(kChunkBytes);
  bool member_ended = false;
  for (;;) {
    if (z.avail_in == 0) {
      size_t got = std::fread(input.data(), 1, input.size(), in->get());
      if (std::ferror(in->get())) return Errno("cannot read", from);
      if (got == 0) break;
      z.next_in = input.data();
      z.avail_in = static_cast<uInt>(got);
    }
    if (member_ended) {  // more bytes after a member: the next member
      RQ_ASSERT(inflateReset(&z) == Z_OK);
      member_ended = false;
    }
    z.next_out = output.data();
    z.avail_out = static_cast<uInt>(output.size());
    int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return Status::Corruption("not valid gzip data in " + from + ": " + (z.msg ? z.msg : "inflate failed"));
    }
    size_t produced = output.size() - z.avail_out;
    if (std::fwrite(output.data(), 1, produced, out->get()) != produced) return Errno("cannot write", to);
    if (rc == Z_STREAM_END) member_ended = true;
  }
  if (!member_ended) return Status::Corruption("gzip data in " + from + " ends early (truncated)");
  return CloseWritten(std::move(*out), to);
}

Result<bool> IsGzipFile(const std::string& path) {
  Result<std::string> prefix = ReadPrefix(path, sizeof(kGzipMagic));
  if (!prefix.ok()) return prefix.status();
  return prefix->size() == sizeof(kGzipMagic) && std::memcmp(prefix->data(), kGzipMagic, sizeof(kGzipMagic)) == 0;
}

Result<bool> HasSqliteHeader(const std::string& path) {
  Result<std::string> prefix = ReadPrefix(path, kSqliteHeader.size());
  if (!prefix.ok()) return prefix.status();
  return *prefix == kSqliteHeader;
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Errno("cannot stat", path);
  return static_cast<uint64_t>(st.st_size);
}

Result<std::string> MakeTempFile(const std::string& dir, std::string_view prefix) {
  std::string pattern = (dir.empty() ? std::string(".") : dir) + "/" + std::string(prefix) + "XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  int fd = ::mkstemp(buffer.data());
  if (fd < 0) return Errno("cannot create a temporary file in", dir);
  ::close(fd);
  return std::string(buffer.data());
}

void RemoveQuietly(const std::string& path) {
  if (!path.empty()) ::unlink(path.c_str());
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace rq::backup
