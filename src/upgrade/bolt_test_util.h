// Test helpers: builds BoltDB files (pages, meta pages, buckets) and the
// msgpack records raft-boltdb stores, byte by byte, so tests and the fuzz
// corpus can make valid files and then damage them. Test-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/coding.h"
#include "upgrade/bolt_reader.h"

namespace rq::upgrade::testing {

struct BoltElem {
  std::string key;
  std::string value;
  bool is_bucket = false;
};

class BoltFileBuilder {
 public:
  explicit BoltFileBuilder(uint32_t page_size = 4096) : page_size_(page_size) {
    pages_.resize(3);  // 0, 1: meta (written by Finish); 2: empty freelist
    pages_[2] = Header(2, bolt_format::kFreelistPage, 0, 0);
    pages_[2].resize(page_size_, '\0');
  }

  uint32_t page_size() const { return page_size_; }
  uint64_t next_page() const { return next_id_; }

  // A leaf page holding items (in the order given: sort them first).
  uint64_t AddLeaf(const std::vector<BoltElem>& items) { return AddPage(LeafBody(items)); }

  // A branch page over (first key, child page) pairs.
  uint64_t AddBranch(const std::vector<std::pair<std::string, uint64_t>>& children) {
    std::string body;
    std::string data;
    size_t n = children.size();
    for (size_t i = 0; i < n; ++i) {
      size_t element = bolt_format::kPageHeaderSize + i * bolt_format::kElementSize;
      size_t key_at = bolt_format::kPageHeaderSize + n * bolt_format::kElementSize + data.size();
      coding::PutFixed32(&body, static_cast<uint32_t>(key_at - element));
      coding::PutFixed32(&body, static_cast<uint32_t>(children[i].first.size()));
      coding::PutFixed64(&body, children[i].second);
      data += children[i].first;
    }
    return AddPage(Header(0, bolt_format::kBranchPage, static_cast<uint16_t>(n), 0) + body + data);
  }

  // The value of a nested-bucket element whose tree is at root.
  static std::string BucketValue(uint64_t root) {
    std::string v;
    coding::PutFixed64(&v, root);
    coding::PutFixed64(&v, 0);
    return v;
  }
  // The value of an inline bucket holding items.
  static std::string InlineBucketValue(const std::vector<BoltElem>& items) {
    return BucketValue(0) + LeafBody(items);
  }

  // The whole file: meta pages (meta 1 newer, txid), the pages, padding to
  // `extra_pages` unused pages past the high-water mark.
  std::string Finish(uint64_t root, uint64_t txid = 7, uint64_t extra_pages = 1) const {
    std::string file;
    for (int slot = 0; slot < 2; ++slot) file += MetaPage(slot, root, slot == 1 ? txid : txid - 1);
    for (uint64_t id = 2; id < pages_.size(); ++id) {
      if (pages_[id].empty()) continue;  // an overflow continuation: already in its head page
      std::string page = pages_[id];
      coding::EncodeFixed64(page.data(), id);
      file += page;
    }
    file.append(extra_pages * page_size_, '\0');
    return file;
  }

  std::string MetaPage(int slot, uint64_t root, uint64_t txid) const {
    std::string meta;
    coding::PutFixed32(&meta, bolt_format::kMagic);
    coding::PutFixed32(&meta, bolt_format::kVersion);
    coding::PutFixed32(&meta, page_size_);
    coding::PutFixed32(&meta, 0);
    coding::PutFixed64(&meta, root);
    coding::PutFixed64(&meta, 0);
    coding::PutFixed64(&meta, 2);  // freelist page
    coding::PutFixed64(&meta, next_id_);
    coding::PutFixed64(&meta, txid);
    coding::PutFixed64(&meta, Fnv1a64(meta));
    std::string page = Header(static_cast<uint64_t>(slot), bolt_format::kMetaPage, 0, 0) + meta;
    page.resize(page_size_, '\0');
    return page;
  }

 private:
  static std::string Header(uint64_t id, uint16_t flags, uint16_t count, uint32_t overflow) {
    std::string h;
    coding::PutFixed64(&h, id);
    h.push_back(static_cast<char>(flags & 0xff));
    h.push_back(static_cast<char>(flags >> 8));
    h.push_back(static_cast<char>(count & 0xff));
    h.push_back(static_cast<char>(count >> 8));
    coding::PutFixed32(&h, overflow);
    return h;
  }

  // Header + elements + keys/values of a leaf page (overflow set by AddPage).
  static std::string LeafBody(const std::vector<BoltElem>& items) {
    std::string body;
    std::string data;
    size_t n = items.size();
    for (size_t i = 0; i < n; ++i) {
      size_t element = bolt_format::kPageHeaderSize + i * bolt_format::kElementSize;
      size_t key_at = bolt_format::kPageHeaderSize + n * bolt_format::kElementSize + data.size();
      coding::PutFixed32(&body, items[i].is_bucket ? bolt_format::kBucketLeafFlag : 0);
      coding::PutFixed32(&body, static_cast<uint32_t>(key_at - element));
      coding::PutFixed32(&body, static_cast<uint32_t>(items[i].key.size()));
      coding::PutFixed32(&body, static_cast<uint32_t>(items[i].value.size()));
      data += items[i].key + items[i].value;
    }
    return Header(0, bolt_format::kLeafPage, static_cast<uint16_t>(n), 0) + body + data;
  }

  uint64_t AddPage(std::string bytes) {
    uint64_t span = (bytes.size() + page_size_ - 1) / page_size_;
    if (span == 0) span = 1;
    uint32_t overflow = static_cast<uint32_t>(span - 1);
    coding::EncodeFixed32(bytes.data() + 12, overflow);
    bytes.resize(span * page_size_, '\0');
    uint64_t id = next_id_;
    pages_.resize(id + span);
    pages_[id] = std::move(bytes);
    next_id_ = id + span;
    return id;
  }

  uint32_t page_size_;
  uint64_t next_id_ = 3;
  std::vector<std::string> pages_;
};

// msgpack the way go-msgpack writes raft records: fixmap/map16, fixstr
// keys, the smallest unsigned width, byte strings as raw (str8/16/32).
class MsgpackWriter {
 public:
  MsgpackWriter& Map(size_t n) {
    if (n < 16) {
      out_.push_back(static_cast<char>(0x80 | n));
    } else {
      out_.push_back('\xde');
      Be(n, 2);
    }
    return *this;
  }
  MsgpackWriter& Array(size_t n) {
    if (n < 16) {
      out_.push_back(static_cast<char>(0x90 | n));
    } else {
      out_.push_back('\xdc');
      Be(n, 2);
    }
    return *this;
  }
  MsgpackWriter& Str(std::string_view s) {
    if (s.size() < 32) {
      out_.push_back(static_cast<char>(0xa0 | s.size()));
    } else if (s.size() < 0x10000) {
      out_.push_back('\xda');
      Be(s.size(), 2);
    } else {
      out_.push_back('\xdb');
      Be(s.size(), 4);
    }
    out_ += s;
    return *this;
  }
  MsgpackWriter& Uint(uint64_t v) {
    if (v < 0x80) {
      out_.push_back(static_cast<char>(v));
    } else if (v <= 0xff) {
      out_.push_back('\xcc');
      Be(v, 1);
    } else if (v <= 0xffff) {
      out_.push_back('\xcd');
      Be(v, 2);
    } else if (v <= 0xffffffffu) {
      out_.push_back('\xce');
      Be(v, 4);
    } else {
      out_.push_back('\xcf');
      Be(v, 8);
    }
    return *this;
  }
  MsgpackWriter& Nil() {
    out_.push_back('\xc0');
    return *this;
  }
  MsgpackWriter& Raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  void Be(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

inline std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A raft.Log record as raft-boltdb stores it (no AppendedAt, like raft < 1.3).
inline std::string GoLogRecord(uint64_t index, uint64_t term, uint8_t type, std::string_view data) {
  MsgpackWriter w;
  w.Map(5).Str("Data");
  if (data.empty()) {
    w.Nil();
  } else {
    w.Str(data);
  }
  w.Str("Extensions").Nil().Str("Index").Uint(index).Str("Term").Uint(term).Str("Type").Uint(type);
  return w.bytes();
}

// A raft.Configuration with voters id -> address.
inline std::string GoConfigurationRecord(const std::vector<std::pair<std::string, std::string>>& voters) {
  MsgpackWriter w;
  w.Map(1).Str("Servers").Array(voters.size());
  for (const auto& [id, address] : voters) {
    w.Map(3).Str("Address").Str(address).Str("ID").Str(id).Str("Suffrage").Uint(0);
  }
  return w.bytes();
}

// A whole raft.db: "conf" (inline bucket) and "logs" (one leaf page, or
// several under a branch when entries_per_leaf is smaller than the count).
inline std::string GoRaftDbFile(const std::vector<BoltElem>& conf, const std::vector<BoltElem>& logs,
                                size_t entries_per_leaf = 1000) {
  BoltFileBuilder b;
  uint64_t logs_root;
  if (logs.size() <= entries_per_leaf) {
    logs_root = b.AddLeaf(logs);
  } else {
    std::vector<std::pair<std::string, uint64_t>> children;
    for (size_t i = 0; i < logs.size(); i += entries_per_leaf) {
      std::vector<BoltElem> part(logs.begin() + static_cast<long>(i),
                                 logs.begin() + static_cast<long>(std::min(logs.size(), i + entries_per_leaf)));
      children.emplace_back(part.front().key, b.AddLeaf(part));
    }
    logs_root = b.AddBranch(children);
  }
  uint64_t root = b.AddLeaf({{"conf", BoltFileBuilder::InlineBucketValue(conf), true},
                             {"logs", BoltFileBuilder::BucketValue(logs_root), true}});
  return b.Finish(root);
}

}  // namespace rq::upgrade::testing
