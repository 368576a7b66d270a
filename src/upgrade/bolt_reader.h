// BoltReader: a small, careful, read-only reader of BoltDB (boltdb/bolt,
// etcd-io/bbolt) files, enough to read hashicorp/raft-boltdb's raft.db.
//
// Format facts (all integers little endian, as bolt writes them on amd64):
//  - The file is an array of pages of `page_size` bytes. Each page starts
//    with a 16-byte header: id u64, flags u16 (0x01 branch, 0x02 leaf,
//    0x04 meta, 0x10 freelist), count u16 (elements), overflow u32 (the page
//    spans 1 + overflow pages).
//  - Pages 0 and 1 are meta pages. After the header: magic u32 0xED0CDAED,
//    version u32 (2), page_size u32, flags u32, root bucket {root page u64,
//    sequence u64}, freelist page u64, high-water page id u64 (pages at or
//    past it are unused), txid u64, checksum u64 = FNV-1a 64 of the 56 meta
//    bytes before it. The valid meta with the higher txid is the current one.
//  - Branch element (16 bytes): pos u32, ksize u32, child page u64. Leaf
//    element (16 bytes): flags u32 (0x01: the value is a nested bucket), pos
//    u32, ksize u32, vsize u32. pos is relative to the element's own start;
//    the key follows at pos and the value right after it.
//  - A bucket value is {root page u64, sequence u64}; root 0 means an inline
//    bucket whose leaf page (header and elements) follows in the value.
//
// Every input is hostile: page ids are checked against the file and the
// high-water mark, a page's header id must match, elements must lie inside
// their page, keys must ascend, the tree depth is bounded and a page seen
// twice in one walk is a cycle. Any violation is Corruption naming the file.
//
// Thread-safety: immutable after Open; concurrent reads are safe. Views
// (string_view) handed out stay valid while the reader lives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "env/file_system.h"

namespace rq::upgrade {

namespace bolt_format {
inline constexpr uint32_t kMagic = 0xED0CDAED;
inline constexpr uint32_t kVersion = 2;
inline constexpr size_t kPageHeaderSize = 16;
inline constexpr size_t kElementSize = 16;  // branch and leaf alike
inline constexpr size_t kBucketHeaderSize = 16;
inline constexpr size_t kMetaChecksummedSize = 56;
inline constexpr uint16_t kBranchPage = 0x01;
inline constexpr uint16_t kLeafPage = 0x02;
inline constexpr uint16_t kMetaPage = 0x04;
inline constexpr uint16_t kFreelistPage = 0x10;
inline constexpr uint32_t kBucketLeafFlag = 0x01;
inline constexpr uint32_t kPageSizeMin = 512;
inline constexpr uint32_t kPageSizeMax = 1u << 16;
// A B+tree this deep would hold more keys than any file we can load.
inline constexpr int kTreeDepthMax = 32;
// Whole files are loaded into memory; refuse absurd ones.
inline constexpr uint64_t kFileBytesMax = uint64_t{8} << 30;
}  // namespace bolt_format

struct BoltMeta {
  uint32_t page_size = 0;
  uint32_t flags = 0;
  uint64_t root_page = 0;
  uint64_t freelist_page = 0;
  uint64_t high_water_page = 0;  // bolt's "pgid": first page id never used
  uint64_t txid = 0;
  int slot = 0;  // 0 or 1: which meta page is current
};

// A bucket to walk: either a tree rooted at a page, or an inline leaf page
// (the bytes of a page header and its elements) held in a parent's value.
struct BoltBucket {
  uint64_t root_page = 0;
  std::string_view inline_page;  // non-empty only for an inline bucket
  std::string path;              // "logs", "a/b": for error messages
};

struct BoltItem {
  std::string_view key;
  std::string_view value;  // for a nested bucket: its 16-byte header (+ inline page)
  bool is_bucket = false;
};

class BoltReader {
 public:
  // Reads the whole file once (never opened for writing).
  static Result<BoltReader> Open(env::FileSystem& fs, const std::string& path);
  // `name` is used in error messages in place of a path.
  static Result<BoltReader> FromBytes(std::string name, std::string bytes);

  const BoltMeta& meta() const { return meta_; }
  const std::string& name() const { return name_; }
  uint64_t file_size() const { return bytes_->size(); }

  BoltBucket Root() const { return BoltBucket{meta_.root_page, {}, ""}; }

  // Calls fn for every pair in the bucket in key order; stops at the first
  // non-OK Status fn returns and returns it.
  Status ForEach(const BoltBucket& bucket, const std::function<Status(const BoltItem&)>& fn) const;

  // The value under key, nullopt when absent; InvalidArgument when the key
  // names a nested bucket.
  Result<std::optional<std::string_view>> Get(const BoltBucket& bucket, std::string_view key) const;

  // The nested bucket `name` inside parent, nullopt when absent;
  // InvalidArgument when the key holds a plain value.
  Result<std::optional<BoltBucket>> Bucket(const BoltBucket& parent, std::string_view name) const;

  // Opens a nested bucket from a ForEach item (is_bucket must be set).
  Result<BoltBucket> BucketFromItem(const BoltBucket& parent, const BoltItem& item) const;

 private:
  struct Page;
  BoltReader(std::string name, std::unique_ptr<std::string> bytes, BoltMeta meta)
      : name_(std::move(name)), bytes_(std::move(bytes)), meta_(meta) {}

  Result<std::optional<BoltItem>> Find(const BoltBucket& bucket, std::string_view key) const;
  Result<Page> ReadPage(uint64_t id) const;
  Result<Page> InlinePage(const BoltBucket& bucket) const;
  Result<Page> BucketRootPage(const BoltBucket& bucket) const;
  Result<BoltItem> LeafItem(const Page& page, uint16_t index) const;
  Status BranchChild(const Page& page, uint16_t index, std::string_view* key, uint64_t* child) const;
  Status Corrupt(std::string_view what) const;

  std::string name_;
  std::unique_ptr<std::string> bytes_;  // heap-held so views survive moves
  BoltMeta meta_;
};

// FNV-1a 64 (bolt's meta checksum).
uint64_t Fnv1a64(std::string_view data);

}  // namespace rq::upgrade
