// BoltReader over files built byte by byte: the tree walk, nested and
// inline buckets, meta selection, and the corruption specification (each
// damaged file is refused with a message naming it).
#include "upgrade/bolt_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "env/mem_file_system.h"
#include "upgrade/bolt_test_util.h"

namespace rq::upgrade {
namespace {

using testing::BoltElem;
using testing::BoltFileBuilder;

std::vector<std::pair<std::string, std::string>> Collect(const BoltReader& r, const BoltBucket& b) {
  std::vector<std::pair<std::string, std::string>> out;
  Status s = r.ForEach(b, [&](const BoltItem& item) {
    out.emplace_back(std::string(item.key), item.is_bucket ? "<bucket>" : std::string(item.value));
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// root: {"a": bucket(leaf {k1: v1, k2: v2}), "b": inline bucket {x: y},
//        "c": bucket(branch over two leaves), "plain": "value"}
struct Sample {
  std::string file;
  uint64_t branch_page = 0;
  uint64_t leaf_a = 0;
  uint64_t root = 0;
};

Sample MakeSample(uint32_t page_size = 4096) {
  BoltFileBuilder b(page_size);
  Sample s;
  s.leaf_a = b.AddLeaf({{"k1", "v1"}, {"k2", "v2"}});
  uint64_t left = b.AddLeaf({{"c1", "one"}, {"c2", "two"}});
  uint64_t right = b.AddLeaf({{"c3", std::string(3 * page_size, 'x')}});  // overflows
  s.branch_page = b.AddBranch({{"c1", left}, {"c3", right}});
  s.root = b.AddLeaf({{"a", BoltFileBuilder::BucketValue(s.leaf_a), true},
                      {"b", BoltFileBuilder::InlineBucketValue({{"x", "y"}, {"z", ""}}), true},
                      {"c", BoltFileBuilder::BucketValue(s.branch_page), true},
                      {"plain", "value"}});
  s.file = b.Finish(s.root);
  return s;
}

BoltReader MustOpen(std::string bytes) {
  Result<BoltReader> r = BoltReader::FromBytes("test.db", std::move(bytes));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

void ExpectCorruptionNamingFile(const Status& s) {
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("test.db"), std::string::npos) << s.ToString();
}

// Fails the walk of every bucket, or opening.
Status WalkAll(std::string bytes) {
  Result<BoltReader> r = BoltReader::FromBytes("test.db", std::move(bytes));
  if (!r.ok()) return r.status();
  std::vector<BoltBucket> todo{r->Root()};
  for (size_t i = 0; i < todo.size() && i < 100; ++i) {
    BoltBucket bucket = todo[i];
    RQ_RETURN_IF_ERROR(r->ForEach(bucket, [&](const BoltItem& item) -> Status {
      if (!item.is_bucket) return Status::OK();
      Result<BoltBucket> nested = r->BucketFromItem(bucket, item);
      if (!nested.ok()) return nested.status();
      todo.push_back(*nested);
      return Status::OK();
    }));
  }
  return Status::OK();
}

TEST(BoltReaderTest, Fnv1a64MatchesKnownValues) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
}

TEST(BoltReaderTest, ReadsRootNestedInlineAndBranchBuckets) {
  Sample s = MakeSample();
  BoltReader r = MustOpen(s.file);
  EXPECT_EQ(r.meta().page_size, 4096u);
  EXPECT_EQ(r.meta().slot, 1);
  EXPECT_EQ(r.meta().root_page, s.root);

  auto root = Collect(r, r.Root());
  ASSERT_EQ(root.size(), 4u);
  EXPECT_EQ(root[0].first, "a");
  EXPECT_EQ(root[3].second, "value");

  auto a = r.Bucket(r.Root(), "a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(Collect(r, **a), (std::vector<std::pair<std::string, std::string>>{{"k1", "v1"}, {"k2", "v2"}}));

  auto inline_b = r.Bucket(r.Root(), "b");
  ASSERT_TRUE(inline_b.ok() && inline_b->has_value());
  EXPECT_FALSE((*inline_b)->inline_page.empty());
  EXPECT_EQ(Collect(r, **inline_b), (std::vector<std::pair<std::string, std::string>>{{"x", "y"}, {"z", ""}}));

  auto c = r.Bucket(r.Root(), "c");
  ASSERT_TRUE(c.ok() && c->has_value());
  auto items = Collect(r, **c);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].first, "c3");
  EXPECT_EQ(items[2].second.size(), 3u * 4096);
}

TEST(BoltReaderTest, GetFindsKeysThroughBranchesAndReportsAbsence) {
  Sample s = MakeSample();
  BoltReader r = MustOpen(s.file);
  auto c = *r.Bucket(r.Root(), "c");
  for (const char* key : {"c1", "c2"}) {
    auto v = r.Get(*c, key);
    ASSERT_TRUE(v.ok() && v->has_value()) << key;
  }
  EXPECT_EQ(**r.Get(*c, "c2"), "two");
  EXPECT_EQ((*r.Get(*c, "c3"))->size(), 3u * 4096);
  EXPECT_FALSE(r.Get(*c, "c0")->has_value());
  EXPECT_FALSE(r.Get(*c, "c9")->has_value());
  EXPECT_EQ(**r.Get(r.Root(), "plain"), "value");
  EXPECT_FALSE(r.Bucket(r.Root(), "nope")->has_value());
  EXPECT_TRUE(r.Get(r.Root(), "a").status().IsInvalidArgument());
  EXPECT_TRUE(r.Bucket(r.Root(), "plain").status().IsInvalidArgument());
}

TEST(BoltReaderTest, OtherPageSizesWork) {
  for (uint32_t size : {1024u, 8192u, 65536u}) {
    Sample s = MakeSample(size);
    BoltReader r = MustOpen(s.file);
    EXPECT_EQ(r.meta().page_size, size);
    EXPECT_EQ(Collect(r, **r.Bucket(r.Root(), "c")).size(), 3u);
  }
}

TEST(BoltReaderTest, OpenReadsThroughTheFileSystem) {
  env::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  ASSERT_TRUE(fs.WriteFileAtomic("/d/raft.db", MakeSample().file).ok());
  Result<BoltReader> r = BoltReader::Open(fs, "/d/raft.db");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name(), "/d/raft.db");
  EXPECT_TRUE(BoltReader::Open(fs, "/d/missing.db").status().IsNotFound());
}

TEST(BoltReaderTest, NewerMetaWithBadChecksumFallsBackToTheOlder) {
  Sample s = MakeSample();
  std::string file = s.file;
  file[4096 + 16 + 48] ^= 0x01;  // meta 1's txid: checksum no longer matches
  BoltReader r = MustOpen(file);
  EXPECT_EQ(r.meta().slot, 0);
}

TEST(BoltReaderTest, BadChecksumOnBothMetaPagesIsCorruption) {
  std::string file = MakeSample().file;
  file[16 + 48] ^= 0x01;
  file[4096 + 16 + 48] ^= 0x01;
  Status s = BoltReader::FromBytes("test.db", file).status();
  ExpectCorruptionNamingFile(s);
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.ToString();
}

TEST(BoltReaderTest, BadMagicOrVersionIsCorruption) {
  std::string file = MakeSample().file;
  std::string magic = file, version = file;
  magic[16] ^= 0x40;
  magic[4096 + 16] ^= 0x40;
  version[16 + 4] = 3;
  version[4096 + 16 + 4] = 3;
  ExpectCorruptionNamingFile(BoltReader::FromBytes("test.db", magic).status());
  ExpectCorruptionNamingFile(BoltReader::FromBytes("test.db", version).status());
}

TEST(BoltReaderTest, DamagedMetaZeroStillFindsMetaOne) {
  Sample s = MakeSample(8192);
  std::string file = s.file;
  for (int i = 0; i < 64; ++i) file[i] = 0;  // meta 0 gone, page size with it
  BoltReader r = MustOpen(file);
  EXPECT_EQ(r.meta().slot, 1);
  EXPECT_EQ(r.meta().page_size, 8192u);
}

TEST(BoltReaderTest, TruncatedFileIsCorruption) {
  std::string file = MakeSample().file;
  for (size_t size : {size_t{0}, size_t{10}, size_t{100}, size_t{5000}, file.size() / 2, file.size() - 4096 - 1}) {
    Status s = WalkAll(file.substr(0, size));
    ExpectCorruptionNamingFile(s);
  }
}

TEST(BoltReaderTest, PageIdPastTheEndIsCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  // Bucket "a"'s root page -> 9999.
  BoltReader r = MustOpen(file);
  auto a = r.Bucket(r.Root(), "a");
  ASSERT_TRUE(a.ok());
  std::string needle = BoltFileBuilder::BucketValue(s.leaf_a);
  size_t at = file.find(needle, s.root * 4096);
  ASSERT_NE(at, std::string::npos);
  coding::EncodeFixed64(file.data() + at, 9999);
  Status st = WalkAll(file);
  ExpectCorruptionNamingFile(st);
  EXPECT_NE(st.message().find("9999"), std::string::npos) << st.ToString();
}

TEST(BoltReaderTest, CyclicPageReferencesAreCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  // The branch's second child -> the branch itself.
  size_t element = s.branch_page * 4096 + 16 + 16;
  coding::EncodeFixed64(file.data() + element + 8, s.branch_page);
  Status st = WalkAll(file);
  ExpectCorruptionNamingFile(st);
  EXPECT_NE(st.message().find("cycle"), std::string::npos) << st.ToString();
  BoltReader r = MustOpen(file);
  auto c = *r.Bucket(r.Root(), "c");
  Status get = r.Get(*c, "c9").status();
  ExpectCorruptionNamingFile(get);
}

TEST(BoltReaderTest, PageHeaderIdMismatchIsCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  coding::EncodeFixed64(file.data() + s.leaf_a * 4096, s.leaf_a + 1);
  ExpectCorruptionNamingFile(WalkAll(file));
}

TEST(BoltReaderTest, ElementPointingOutsideItsPageIsCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  coding::EncodeFixed32(file.data() + s.leaf_a * 4096 + 16 + 12, 1 << 20);  // vsize
  ExpectCorruptionNamingFile(WalkAll(file));
}

TEST(BoltReaderTest, TooManyElementsForThePageIsCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  file[s.leaf_a * 4096 + 10] = '\xff';
  file[s.leaf_a * 4096 + 11] = '\x7f';
  ExpectCorruptionNamingFile(WalkAll(file));
}

TEST(BoltReaderTest, KeysOutOfOrderAreCorruption) {
  BoltFileBuilder b;
  uint64_t leaf = b.AddLeaf({{"b", "1"}, {"a", "2"}});
  uint64_t root = b.AddLeaf({{"x", BoltFileBuilder::BucketValue(leaf), true}});
  ExpectCorruptionNamingFile(WalkAll(b.Finish(root)));
}

TEST(BoltReaderTest, FlippedPageFlagsAreCorruption) {
  Sample s = MakeSample();
  std::string file = s.file;
  file[s.leaf_a * 4096 + 8] = 0x10;  // freelist flags on a tree page
  ExpectCorruptionNamingFile(WalkAll(file));
}

TEST(BoltReaderTest, DeepTreeIsRefused) {
  // A chain of branch pages, each with one child: deeper than the limit.
  BoltFileBuilder b;
  uint64_t child = b.AddLeaf({{"k", "v"}});
  for (int i = 0; i < bolt_format::kTreeDepthMax + 2; ++i) child = b.AddBranch({{"k", child}});
  uint64_t root = b.AddLeaf({{"deep", BoltFileBuilder::BucketValue(child), true}});
  Status s = WalkAll(b.Finish(root));
  ExpectCorruptionNamingFile(s);
  BoltReader r = MustOpen(b.Finish(root));
  ExpectCorruptionNamingFile(r.Get(**r.Bucket(r.Root(), "deep"), "k").status());
}

TEST(BoltReaderTest, EveryByteFlipIsRefusedOrReadable) {
  // The corruption spec in bulk: no flip may crash or hang the reader.
  std::string file = MakeSample(1024).file;
  for (size_t i = 0; i < file.size(); i += 7) {
    std::string damaged = file;
    damaged[i] ^= 0x5a;
    Status s = WalkAll(damaged);
    if (!s.ok()) {
      EXPECT_NE(s.message().find("test.db"), std::string::npos) << s.ToString();
    }
  }
}

}  // namespace
}  // namespace rq::upgrade
