// Byte-level helpers of backup and restore: SHA-256 (OpenSSL), gzip and
// gunzip (zlib), hex, and the temporary files they work in.
//
// Thread-safety: pure functions over the named files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rq::backup {

// gzip's first two bytes, and the deflate method byte rqlite also checks
// (auto/restore/downloader.go gzipMagic).
inline constexpr unsigned char kGzipMagic[3] = {0x1f, 0x8b, 0x08};
// The first 16 bytes of every SQLite database file.
inline constexpr std::string_view kSqliteHeader{"SQLite format 3\0", 16};
static_assert(kSqliteHeader.size() == 16);

std::string HexEncode(std::string_view bytes);

// ASCII letters to lower case; other bytes unchanged.
std::string AsciiLower(std::string_view s);

// Raw 32-byte digests.
std::string Sha256(std::string_view bytes);
// The digest of `length` bytes of `path` from `offset` (length = UINT64_MAX:
// to the end).
Result<std::string> Sha256File(const std::string& path, uint64_t offset = 0, uint64_t length = UINT64_MAX);

// HMAC-SHA256(key, data), raw.
std::string HmacSha256(std::string_view key, std::string_view data);

// Compress `from` into a new gzip file `to` (zlib's default level, no file
// name and mtime 0 in the header, so equal input gives equal bytes and an
// unchanged database gives an unchanged sha256).
Status GzipFile(const std::string& from, const std::string& to);
// Decompress gzip `from` into `to`; concatenated members are read as one
// stream, as Go's gzip reader does. Corruption when the data is not valid
// gzip or ends early.
Status GunzipFile(const std::string& from, const std::string& to);

// True when the file starts with kGzipMagic; false for shorter files.
Result<bool> IsGzipFile(const std::string& path);
// True when the file starts with kSqliteHeader.
Result<bool> HasSqliteHeader(const std::string& path);

Result<uint64_t> FileSize(const std::string& path);

// A new empty file "<dir>/<prefix>XXXXXX" (mkstemp); its path.
Result<std::string> MakeTempFile(const std::string& dir, std::string_view prefix);
// Removes `path` if it exists; errors are ignored (cleanup paths).
void RemoveQuietly(const std::string& path);

}  // namespace rq::backup
