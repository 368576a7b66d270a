// BoltReader: meta pages, page headers and the B+tree walk (see the header
// for the format). Every offset is checked before it is read.
#include "upgrade/bolt_reader.h"

#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/coding.h"

namespace rq::upgrade {

using namespace bolt_format;

namespace {

uint16_t DecodeFixed16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Printable form of a bucket name or key for messages.
std::string Printable(std::string_view bytes) {
  std::string out;
  for (char c : bytes.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[(static_cast<uint8_t>(c) >> 4) & 0xf]);
      out.push_back(kHex[static_cast<uint8_t>(c) & 0xf]);
    }
  }
  if (bytes.size() > 64) out += "...";
  return out;
}

// Parses the meta page in `slot` located at `offset`. On failure returns
// the reason (for the message when neither meta page is usable).
std::optional<BoltMeta> ParseMeta(std::string_view file, uint64_t offset, int slot, std::string* why) {
  if (offset + kPageHeaderSize + kMetaChecksummedSize + 8 > file.size()) {
    *why = "file ends before meta page " + std::to_string(slot);
    return std::nullopt;
  }
  const char* page = file.data() + offset;
  const char* meta = page + kPageHeaderSize;
  if (coding::DecodeFixed64(page) != static_cast<uint64_t>(slot) || DecodeFixed16(page + 8) != kMetaPage) {
    *why = "meta page " + std::to_string(slot) + " has no meta page header";
    return std::nullopt;
  }
  if (coding::DecodeFixed32(meta) != kMagic) {
    *why = "meta page " + std::to_string(slot) + " has a bad magic number";
    return std::nullopt;
  }
  if (coding::DecodeFixed32(meta + 4) != kVersion) {
    *why = "meta page " + std::to_string(slot) + " has unsupported version " +
           std::to_string(coding::DecodeFixed32(meta + 4));
    return std::nullopt;
  }
  uint64_t stored = coding::DecodeFixed64(meta + kMetaChecksummedSize);
  if (Fnv1a64(std::string_view(meta, kMetaChecksummedSize)) != stored) {
    *why = "meta page " + std::to_string(slot) + " checksum mismatch";
    return std::nullopt;
  }
  BoltMeta m;
  m.page_size = coding::DecodeFixed32(meta + 8);
  m.flags = coding::DecodeFixed32(meta + 12);
  m.root_page = coding::DecodeFixed64(meta + 16);
  m.freelist_page = coding::DecodeFixed64(meta + 32);
  m.high_water_page = coding::DecodeFixed64(meta + 40);
  m.txid = coding::DecodeFixed64(meta + 48);
  m.slot = slot;
  if (!IsPowerOfTwo(m.page_size) || m.page_size < kPageSizeMin || m.page_size > kPageSizeMax) {
    *why = "meta page " + std::to_string(slot) + " has bad page size " + std::to_string(m.page_size);
    return std::nullopt;
  }
  if (m.root_page < 2 || m.root_page >= m.high_water_page) {
    *why = "meta page " + std::to_string(slot) + " has root page " + std::to_string(m.root_page) +
           " outside [2, " + std::to_string(m.high_water_page) + ")";
    return std::nullopt;
  }
  return m;
}

}  // namespace

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : data) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

struct BoltReader::Page {
  std::string_view bytes;  // the whole span (1 + overflow pages), or the inline page
  uint64_t id = 0;
  uint16_t flags = 0;
  uint16_t count = 0;
  bool is_branch() const { return flags == kBranchPage; }
};

Result<BoltReader> BoltReader::Open(env::FileSystem& fs, const std::string& path) {
  Result<uint64_t> size = fs.FileSize(path);
  if (!size.ok()) return size.status().WithContext("bolt: " + path);
  if (*size > kFileBytesMax) {
    return Status::NotSupported("bolt: " + path + ": file of " + std::to_string(*size) + " bytes is too large");
  }
  Result<std::string> bytes = fs.ReadFile(path);
  if (!bytes.ok()) return bytes.status().WithContext("bolt: " + path);
  return FromBytes(path, std::move(*bytes));
}

Result<BoltReader> BoltReader::FromBytes(std::string name, std::string bytes) {
  auto held = std::make_unique<std::string>(std::move(bytes));
  std::string_view file(*held);
  std::string why0, why1;
  std::optional<BoltMeta> meta0 = ParseMeta(file, 0, 0, &why0);
  std::optional<BoltMeta> meta1;
  if (meta0) {
    meta1 = ParseMeta(file, meta0->page_size, 1, &why1);
    if (meta1 && meta1->page_size != meta0->page_size) {
      why1 = "meta page 1 disagrees with meta page 0 on the page size";
      meta1.reset();
    }
  } else {
    // Meta page 0 is damaged: look for meta page 1 at each page size it may
    // have been written with; it must name the same size.
    for (uint32_t size = kPageSizeMin; size <= kPageSizeMax && !meta1; size <<= 1) {
      std::string ignored;
      meta1 = ParseMeta(file, size, 1, &ignored);
      if (meta1 && meta1->page_size != size) meta1.reset();
    }
    if (!meta1) why1 = "meta page 1 not found at any page size";
  }
  std::optional<BoltMeta> current;
  if (meta0 && meta1) {
    current = meta0->txid >= meta1->txid ? meta0 : meta1;
  } else {
    current = meta0 ? meta0 : meta1;
  }
  if (!current) {
    return Status::Corruption("bolt: " + name + ": not a valid BoltDB file (" + why0 + "; " + why1 + ")");
  }
  uint64_t needed = current->high_water_page * current->page_size;
  if (current->high_water_page > file.size() / current->page_size) {
    return Status::Corruption("bolt: " + name + ": file is " + std::to_string(file.size()) + " bytes but meta page " +
                              std::to_string(current->slot) + " uses " + std::to_string(needed) +
                              " (truncated?)");
  }
  return BoltReader(std::move(name), std::move(held), *current);
}

Status BoltReader::Corrupt(std::string_view what) const {
  return Status::Corruption("bolt: " + name_ + ": " + std::string(what));
}

Result<BoltReader::Page> BoltReader::ReadPage(uint64_t id) const {
  if (id < 2) return Corrupt("reference to meta page " + std::to_string(id) + " as a tree page");
  if (id >= meta_.high_water_page) {
    return Corrupt("page " + std::to_string(id) + " is past the high-water mark " +
                   std::to_string(meta_.high_water_page));
  }
  // id < high_water <= file size / page size, so this cannot overflow.
  uint64_t offset = id * meta_.page_size;
  std::string_view file(*bytes_);
  const char* header = file.data() + offset;
  Page page;
  page.id = id;
  page.flags = DecodeFixed16(header + 8);
  page.count = DecodeFixed16(header + 10);
  uint64_t overflow = coding::DecodeFixed32(header + 12);
  if (coding::DecodeFixed64(header) != id) {
    return Corrupt("page " + std::to_string(id) + " header says it is page " +
                   std::to_string(coding::DecodeFixed64(header)));
  }
  if (page.flags != kBranchPage && page.flags != kLeafPage) {
    return Corrupt("page " + std::to_string(id) + " has flags " + std::to_string(page.flags) +
                   ", not a branch or leaf page");
  }
  if (overflow >= meta_.high_water_page - id) {
    return Corrupt("page " + std::to_string(id) + " overflows past the high-water mark");
  }
  uint64_t span = (overflow + 1) * meta_.page_size;
  page.bytes = file.substr(offset, span);
  if (kPageHeaderSize + uint64_t{page.count} * kElementSize > span) {
    return Corrupt("page " + std::to_string(id) + " claims " + std::to_string(page.count) +
                   " elements, more than fit in it");
  }
  if (page.is_branch() && page.count == 0) return Corrupt("branch page " + std::to_string(id) + " is empty");
  return page;
}

Result<BoltReader::Page> BoltReader::InlinePage(const BoltBucket& bucket) const {
  std::string_view bytes = bucket.inline_page;
  if (bytes.size() < kPageHeaderSize) return Corrupt("inline bucket '" + bucket.path + "' is too short");
  Page page;
  page.bytes = bytes;
  page.flags = DecodeFixed16(bytes.data() + 8);
  page.count = DecodeFixed16(bytes.data() + 10);
  if (page.flags != kLeafPage) return Corrupt("inline bucket '" + bucket.path + "' does not hold a leaf page");
  if (kPageHeaderSize + uint64_t{page.count} * kElementSize > bytes.size()) {
    return Corrupt("inline bucket '" + bucket.path + "' claims more elements than it holds");
  }
  return page;
}

Result<BoltReader::Page> BoltReader::BucketRootPage(const BoltBucket& bucket) const {
  if (!bucket.inline_page.empty()) return InlinePage(bucket);
  return ReadPage(bucket.root_page);
}

Result<BoltItem> BoltReader::LeafItem(const Page& page, uint16_t index) const {
  uint64_t element = kPageHeaderSize + uint64_t{index} * kElementSize;
  const char* p = page.bytes.data() + element;
  uint32_t flags = coding::DecodeFixed32(p);
  uint64_t pos = coding::DecodeFixed32(p + 4);
  uint64_t key_size = coding::DecodeFixed32(p + 8);
  uint64_t value_size = coding::DecodeFixed32(p + 12);
  uint64_t start = element + pos;
  if (start + key_size + value_size > page.bytes.size()) {
    return Corrupt("leaf element " + std::to_string(index) + " of page " + std::to_string(page.id) +
                   " points outside its page");
  }
  BoltItem item;
  item.key = page.bytes.substr(start, key_size);
  item.value = page.bytes.substr(start + key_size, value_size);
  item.is_bucket = (flags & kBucketLeafFlag) != 0;
  return item;
}

Status BoltReader::BranchChild(const Page& page, uint16_t index, std::string_view* key, uint64_t* child) const {
  uint64_t element = kPageHeaderSize + uint64_t{index} * kElementSize;
  const char* p = page.bytes.data() + element;
  uint64_t pos = coding::DecodeFixed32(p);
  uint64_t key_size = coding::DecodeFixed32(p + 4);
  *child = coding::DecodeFixed64(p + 8);
  if (element + pos + key_size > page.bytes.size()) {
    return Corrupt("branch element " + std::to_string(index) + " of page " + std::to_string(page.id) +
                   " points outside its page");
  }
  *key = page.bytes.substr(element + pos, key_size);
  return Status::OK();
}

Status BoltReader::ForEach(const BoltBucket& bucket, const std::function<Status(const BoltItem&)>& fn) const {
  struct Frame {
    Page page;
    uint16_t next = 0;
  };
  Result<Page> root = BucketRootPage(bucket);
  if (!root.ok()) return root.status();
  std::vector<Frame> stack;
  stack.push_back(Frame{*root, 0});
  std::unordered_set<uint64_t> seen;
  if (bucket.inline_page.empty()) seen.insert(bucket.root_page);
  std::optional<std::string_view> last_key;
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next >= top.page.count) {
      stack.pop_back();
      continue;
    }
    uint16_t index = top.next++;
    if (!top.page.is_branch()) {
      Result<BoltItem> item = LeafItem(top.page, index);
      if (!item.ok()) return item.status();
      if (last_key && item->key <= *last_key) {
        return Corrupt("keys out of order in bucket '" + bucket.path + "' at key '" + Printable(item->key) + "'");
      }
      last_key = item->key;
      RQ_RETURN_IF_ERROR(fn(*item));
      continue;
    }
    std::string_view key;
    uint64_t child = 0;
    RQ_RETURN_IF_ERROR(BranchChild(top.page, index, &key, &child));
    if (stack.size() >= static_cast<size_t>(kTreeDepthMax)) {
      return Corrupt("bucket '" + bucket.path + "' is deeper than " + std::to_string(kTreeDepthMax) + " levels");
    }
    if (!seen.insert(child).second) {
      return Corrupt("page " + std::to_string(child) + " is referenced twice in bucket '" + bucket.path +
                     "' (cycle)");
    }
    Result<Page> page = ReadPage(child);
    if (!page.ok()) return page.status();
    stack.push_back(Frame{*page, 0});  // `top` is invalid from here on
  }
  return Status::OK();
}

Result<std::optional<BoltItem>> BoltReader::Find(const BoltBucket& bucket, std::string_view key) const {
  Result<Page> page = BucketRootPage(bucket);
  if (!page.ok()) return page.status();
  std::unordered_set<uint64_t> seen;
  if (bucket.inline_page.empty()) seen.insert(bucket.root_page);
  for (int depth = 0; page->is_branch(); ++depth) {
    if (depth >= kTreeDepthMax) {
      return Corrupt("bucket '" + bucket.path + "' is deeper than " + std::to_string(kTreeDepthMax) + " levels");
    }
    // The child whose first key is the greatest one <= key (the first child
    // when key sorts before them all).
    uint64_t chosen = 0;
    for (uint16_t i = 0; i < page->count; ++i) {
      std::string_view first;
      uint64_t child = 0;
      RQ_RETURN_IF_ERROR(BranchChild(*page, i, &first, &child));
      if (i > 0 && first > key) break;
      chosen = child;
    }
    if (!seen.insert(chosen).second) {
      return Corrupt("page " + std::to_string(chosen) + " is referenced twice in bucket '" + bucket.path +
                     "' (cycle)");
    }
    page = ReadPage(chosen);
    if (!page.ok()) return page.status();
  }
  for (uint16_t i = 0; i < page->count; ++i) {
    Result<BoltItem> item = LeafItem(*page, i);
    if (!item.ok()) return item.status();
    if (item->key == key) return std::optional<BoltItem>(*item);
  }
  return std::optional<BoltItem>();
}

Result<std::optional<std::string_view>> BoltReader::Get(const BoltBucket& bucket, std::string_view key) const {
  Result<std::optional<BoltItem>> item = Find(bucket, key);
  if (!item.ok()) return item.status();
  if (!item->has_value()) return std::optional<std::string_view>();
  if ((*item)->is_bucket) {
    return Status::InvalidArgument("bolt: " + name_ + ": key '" + Printable(key) + "' in bucket '" + bucket.path +
                                   "' is a nested bucket");
  }
  return std::optional<std::string_view>((*item)->value);
}

Result<std::optional<BoltBucket>> BoltReader::Bucket(const BoltBucket& parent, std::string_view name) const {
  Result<std::optional<BoltItem>> item = Find(parent, name);
  if (!item.ok()) return item.status();
  if (!item->has_value()) return std::optional<BoltBucket>();
  if (!(*item)->is_bucket) {
    return Status::InvalidArgument("bolt: " + name_ + ": key '" + Printable(name) + "' in bucket '" + parent.path +
                                   "' is not a bucket");
  }
  Result<BoltBucket> bucket = BucketFromItem(parent, **item);
  if (!bucket.ok()) return bucket.status();
  return std::optional<BoltBucket>(std::move(*bucket));
}

Result<BoltBucket> BoltReader::BucketFromItem(const BoltBucket& parent, const BoltItem& item) const {
  RQ_ASSERT(item.is_bucket);
  BoltBucket bucket;
  bucket.path = parent.path.empty() ? Printable(item.key) : parent.path + "/" + Printable(item.key);
  if (item.value.size() < kBucketHeaderSize) {
    return Corrupt("bucket '" + bucket.path + "' has a " + std::to_string(item.value.size()) + "-byte header");
  }
  bucket.root_page = coding::DecodeFixed64(item.value.data());
  if (bucket.root_page == 0) {
    bucket.inline_page = item.value.substr(kBucketHeaderSize);
    if (bucket.inline_page.empty()) return Corrupt("inline bucket '" + bucket.path + "' has no page");
  }
  return bucket;
}

}  // namespace rq::upgrade
