// Reads everything in copies of the real Go rqlite directories
// (../shared/fixtures/go-rqlite, see its README): layout, hard state, every
// log entry, the configuration, the snapshot meta, and every command as
// SQL. Also damages the copies and checks the refusals name the file. The
// shared fixtures are never opened for writing: each test copies them into
// its own temporary directory first.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "env/posix_file_system.h"
#include "upgrade/go_raft_log.h"
#include "upgrade/go_rqlite_command.h"
#include "upgrade/layout.h"

namespace rq::upgrade {
namespace {

namespace fs = std::filesystem;

class FixturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(RQ_GO_FIXTURES_DIR)) GTEST_SKIP() << "no fixtures at " << RQ_GO_FIXTURES_DIR;
    std::string pattern = ::testing::TempDir() + "/upgrade_fixtures_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    fs::copy(RQ_GO_FIXTURES_DIR, tmp_, fs::copy_options::recursive);
    // The copies are ours: make them writable so tests can damage them.
    for (const auto& entry : fs::recursive_directory_iterator(tmp_)) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  std::string Path(const std::string& rel) const { return tmp_ + "/" + rel; }

  env::PosixFileSystem posix_;
  std::string tmp_;
};

struct NodeRead {
  DataDirInspection layout;
  GoHardState hard_state;
  std::vector<GoLogEntry> entries;
  GoConfiguration configuration;  // the log's latest, else the snapshot's
  GoCommandDialect dialect = GoCommandDialect::kV7Plus;
  std::vector<GoCommand> commands;  // of every LogCommand entry, in order
  std::map<std::string, int> type_counts;
};

// What a converter would do: read it all, refusing on any error.
NodeRead ReadNode(env::FileSystem& fs, const std::string& dir) {
  NodeRead out;
  Result<DataDirInspection> layout = InspectDataDir(fs, dir);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  out.layout = *layout;
  Result<GoRaftStore> store = GoRaftStore::Open(fs, dir + "/raft.db");
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return out;
  out.hard_state = store->hard_state();
  Result<std::vector<GoLogEntry>> entries = store->ReadAll();
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  out.entries = *entries;
  std::vector<std::string_view> data;
  for (const GoLogEntry& e : out.entries) {
    out.type_counts[GoLogTypeName(e.type)]++;
    if (e.type == static_cast<uint8_t>(GoLogType::kCommand)) data.push_back(e.data);
  }
  // The layout decides when it can; the log's commands otherwise.
  out.dialect = out.layout.dialect.value_or(GuessGoCommandDialect(data));
  for (std::string_view d : data) {
    Result<GoCommand> cmd = DecodeGoCommand(d, out.dialect);
    EXPECT_TRUE(cmd.ok()) << cmd.status().ToString();
    if (cmd.ok()) out.commands.push_back(*cmd);
  }
  Result<std::optional<GoConfiguration>> config = LatestConfiguration(out.entries);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (config.ok() && config->has_value()) {
    out.configuration = **config;
  } else if (const GoSnapshot* s = out.layout.latest_snapshot()) {
    out.configuration = s->meta.configuration;
  }
  return out;
}

void PrintSummary(const std::string& name, const NodeRead& n) {
  std::cout << name << ": " << n.layout.Describe() << "\n  hard state term=" << n.hard_state.current_term
            << " vote_term=" << n.hard_state.last_vote_term << " vote='" << n.hard_state.last_vote_candidate << "'\n";
  if (!n.entries.empty()) {
    std::cout << "  entries " << n.entries.front().index << ".." << n.entries.back().index << " (" << n.entries.size()
              << "):";
    for (const auto& [type, count] : n.type_counts) std::cout << " " << type << "=" << count;
    std::cout << "\n";
  }
  std::map<std::string, int> kinds;
  for (const GoCommand& c : n.commands) kinds[std::string(GoCommandKindName(c.kind)) + (c.compressed ? "(gz)" : "")]++;
  std::cout << "  commands:";
  for (const auto& [kind, count] : kinds) std::cout << " " << kind << "=" << count;
  std::cout << "\n  configuration:";
  for (const GoServer& s : n.configuration.servers) {
    std::cout << " {" << s.id << " " << s.address << " " << GoSuffrageName(s.suffrage) << "}";
  }
  std::cout << "\n";
}

std::map<std::string, std::string> ConfigById(const GoConfiguration& c) {
  std::map<std::string, std::string> out;
  for (const GoServer& s : c.servers) out[s.id] = s.address;
  return out;
}

// The last SQL statement the log's writes (execute commands) carry.
std::string LastWriteSql(const NodeRead& n) {
  for (auto it = n.commands.rbegin(); it != n.commands.rend(); ++it) {
    if (it->kind == GoCommandKind::kExecute && !it->request.statements.empty()) {
      return it->request.statements.back().sql;
    }
  }
  return "";
}

std::string Render(const GoValue& v) {
  if (std::holds_alternative<GoNull>(v)) return "NULL";
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&v)) return std::to_string(*d);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const GoBlob* blob = std::get_if<GoBlob>(&v)) return "blob(" + std::to_string(blob->bytes.size()) + ")";
  return "'" + std::get<std::string>(v) + "'";
}

void PrintTail(const NodeRead& n, size_t count) {
  size_t from = n.commands.size() > count ? n.commands.size() - count : 0;
  for (size_t i = from; i < n.commands.size(); ++i) {
    const GoCommand& c = n.commands[i];
    std::cout << "    " << GoCommandKindName(c.kind) << (c.request.transaction ? " tx" : "") << ":";
    for (const GoStatement& s : c.request.statements) {
      std::cout << " [" << s.sql;
      for (const GoParameter& p : s.parameters) std::cout << " | " << Render(p.value);
      std::cout << "]";
    }
    std::cout << "\n";
  }
}

TEST_F(FixturesTest, V8ThreeNodeDirectoriesReadCompletely) {
  // nodes.json: what node 1 reported before the stop.
  std::ifstream nodes_file(Path("v8.28.4-3node/nodes.json"));
  std::string text((std::istreambuf_iterator<char>(nodes_file)), {});
  boost::json::object nodes = boost::json::parse(text).as_object();
  std::map<std::string, std::string> expected;
  for (const auto& kv : nodes) expected[std::string(kv.key())] = std::string(kv.value().at("addr").as_string());
  ASSERT_EQ(expected, (std::map<std::string, std::string>{
                          {"1", "127.0.0.1:16002"}, {"2", "127.0.0.1:16004"}, {"3", "127.0.0.1:16006"}}));

  const std::map<std::string, uint64_t> snapshot_index{{"data.1", 346}, {"data.2", 305}, {"data.3", 304}};
  for (const auto& [name, index] : snapshot_index) {
    SCOPED_TRACE(name);
    NodeRead n = ReadNode(posix_, Path("v8.28.4-3node/" + name));
    PrintSummary(name, n);
    PrintTail(n, 4);
    EXPECT_EQ(n.layout.kind, DataDirKind::kGo);
    EXPECT_EQ(n.layout.go_version, "rqlite v8.0-v9.4");
    ASSERT_NE(n.layout.latest_snapshot(), nullptr);
    const GoSnapshot& snap = *n.layout.latest_snapshot();
    EXPECT_EQ(snap.meta.index, index);
    EXPECT_EQ(snap.meta.term, 2u);
    EXPECT_EQ(snap.format, GoSnapshotFormat::kV8Database);
    EXPECT_EQ(ConfigById(snap.meta.configuration), expected);
    Result<std::string> image = ReadGoSnapshotDatabase(posix_, snap);
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(static_cast<int64_t>(image->size()), snap.meta.size);

    EXPECT_EQ(n.hard_state.current_term, 2u);
    ASSERT_FALSE(n.entries.empty());
    // The log covers everything after the snapshot, without a gap.
    EXPECT_LE(n.entries.front().index, index + 1);
    EXPECT_GE(n.entries.back().index, index);
    EXPECT_EQ(ConfigById(n.configuration), expected);
    for (const GoServer& s : n.configuration.servers) EXPECT_EQ(s.suffrage, GoSuffrage::kVoter);
    EXPECT_EQ(n.commands.size(), static_cast<size_t>(n.type_counts["LogCommand"]));
    for (const GoLogEntry& e : n.entries) EXPECT_TRUE(e.appended_at_unix_ns.has_value()) << e.index;
  }
  // The queued UPDATE was the last write every node applied.
  for (const char* name : {"data.1", "data.2", "data.3"}) {
    NodeRead n = ReadNode(posix_, Path(std::string("v8.28.4-3node/") + name));
    EXPECT_EQ(LastWriteSql(n), "UPDATE foo SET name=? WHERE id=1") << name;
  }
}

TEST_F(FixturesTest, V8CommandsCarryTypedParameters) {
  // data.2's log (226..348): requests 221..300 (insert foo + upsert bar),
  // the 40 tail inserts, the UPDATE, and the two level=strong queries.
  NodeRead n = ReadNode(posix_, Path("v8.28.4-3node/data.2"));
  int inserts = 0, upserts = 0, tails = 0, updates = 0, queries = 0;
  for (const GoCommand& c : n.commands) {
    if (c.kind == GoCommandKind::kQuery) ++queries;
    for (const GoStatement& s : c.request.statements) {
      if (s.sql == "INSERT INTO foo(name, score, data) VALUES(?, ?, x'00ff10')") {
        ASSERT_EQ(s.parameters.size(), 2u);
        int number = std::stoi(std::get<std::string>(s.parameters[0].value).substr(5));  // name-N
        EXPECT_EQ(std::get<double>(s.parameters[1].value), number + 0.5);
        ++inserts;
      } else if (s.sql == "INSERT OR REPLACE INTO bar(k, v) VALUES(?, ?)") {
        ASSERT_EQ(s.parameters.size(), 2u);
        int64_t v = std::get<int64_t>(s.parameters[1].value);
        EXPECT_EQ(std::get<std::string>(s.parameters[0].value), "k" + std::to_string(v % 17));
        ++upserts;
      } else if (s.sql == "INSERT INTO foo(name, score) VALUES(?, ?)") {
        ASSERT_EQ(s.parameters.size(), 2u);
        EXPECT_EQ(std::get<std::string>(s.parameters[0].value), "tail-" + std::to_string(std::get<int64_t>(s.parameters[1].value)));
        ++tails;
      } else if (s.sql == "UPDATE foo SET name=? WHERE id=1") {
        EXPECT_EQ(std::get<std::string>(s.parameters.at(0).value), "fiona");
        ++updates;
      }
    }
  }
  EXPECT_EQ(inserts, 80);
  EXPECT_EQ(upserts, 80);
  EXPECT_EQ(tails, 40);
  EXPECT_EQ(updates, 1);
  EXPECT_EQ(queries, 2);
}

TEST_F(FixturesTest, V5SeedDirectoriesReadCompletely) {
  for (const char* name : {"node.1", "node.2"}) {
    SCOPED_TRACE(name);
    NodeRead n = ReadNode(posix_, Path(std::string("v5.7.0-seed/") + name));
    PrintSummary(name, n);
    PrintTail(n, 3);
    EXPECT_EQ(n.layout.kind, DataDirKind::kGo);
    EXPECT_EQ(n.layout.latest_snapshot(), nullptr);
    EXPECT_EQ(n.dialect, GoCommandDialect::kV5V6);
    EXPECT_EQ(n.hard_state.current_term, 2u);
    ASSERT_EQ(n.entries.size(), 56u);
    EXPECT_EQ(n.entries.front().index, 1u);
    EXPECT_FALSE(n.entries.front().appended_at_unix_ns.has_value());  // raft before 1.3
    EXPECT_EQ(ConfigById(n.configuration),
              (std::map<std::string, std::string>{{"1", "127.0.0.1:16012"}, {"2", "127.0.0.1:16014"}}));
    int rows = 0, metadata = 0;
    for (const GoCommand& c : n.commands) {
      if (c.kind == GoCommandKind::kMetadataSet) {
        ++metadata;
        EXPECT_EQ(c.metadata.count("api_addr"), 1u);
      }
      for (const GoStatement& s : c.request.statements) {
        if (s.sql.rfind("INSERT INTO foo", 0) == 0) ++rows;
      }
    }
    EXPECT_EQ(rows, 51);  // fiona and row-1..row-50, as expected-foo.json counts
    EXPECT_EQ(metadata, 2);
    EXPECT_EQ(LastWriteSql(n), "INSERT INTO foo(name) VALUES('row-50')");
  }
  NodeRead n1 = ReadNode(posix_, Path("v5.7.0-seed/node.1"));
  EXPECT_EQ(n1.hard_state.last_vote_candidate, "127.0.0.1:16012");
  EXPECT_EQ(n1.configuration.FindByAddress(n1.hard_state.last_vote_candidate)->id, "1");
}

TEST_F(FixturesTest, TruncatedRaftDbIsRefusedNamingTheFile) {
  const std::string path = Path("v8.28.4-3node/data.2/raft.db");
  for (uintmax_t size : {uintmax_t{0}, uintmax_t{3000}, uintmax_t{4096 * 2 + 100}, uintmax_t{40000}}) {
    fs::resize_file(path, size);
    Status s = GoRaftStore::Open(posix_, path).status();
    EXPECT_TRUE(s.IsCorruption()) << size << ": " << s.ToString();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.ToString();
  }
}

TEST_F(FixturesTest, CorruptPagesAreRefusedNamingTheFile) {
  const std::string path = Path("v8.28.4-3node/data.1/raft.db");
  std::string original;
  {
    std::ifstream in(path, std::ios::binary);
    original.assign((std::istreambuf_iterator<char>(in)), {});
  }
  auto write = [&](const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  auto read_all = [&]() -> Status {
    Result<GoRaftStore> store = GoRaftStore::Open(posix_, path);
    if (!store.ok()) return store.status();
    return store->ReadAll().status();
  };
  // Every used page's header flipped in turn: each refused, none crashes.
  Result<BoltReader> bolt = BoltReader::Open(posix_, path);
  ASSERT_TRUE(bolt.ok());
  const uint64_t page_size = bolt->meta().page_size, pages = bolt->meta().high_water_page;
  int refused = 0;
  for (uint64_t page = 2; page < pages; ++page) {
    std::string damaged = original;
    damaged[page * page_size] ^= 0x55;      // header id
    damaged[page * page_size + 8] ^= 0x03;  // flags
    write(damaged);
    Status s = read_all();
    if (!s.ok()) {
      ++refused;
      EXPECT_NE(s.message().find(path), std::string::npos) << s.ToString();
    }
  }
  EXPECT_GT(refused, 0);
  // Both meta checksums broken.
  std::string damaged = original;
  damaged[16 + 48] ^= 1;
  damaged[page_size + 16 + 48] ^= 1;
  write(damaged);
  Status s = read_all();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.ToString();
  write(original);
  EXPECT_TRUE(read_all().ok());
}

}  // namespace
}  // namespace rq::upgrade
