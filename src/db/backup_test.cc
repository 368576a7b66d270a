#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/test_dir.h"
#include "db/database.h"
#include "db/sql_guard.h"

namespace rq::db {
namespace {

using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;
using command::Value;
using Row = std::vector<Value>;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("backup_test");
    db_ = OpenAt(Path("db.sqlite"));
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::unique_ptr<Database> OpenAt(const std::string& path) {
    Result<std::unique_ptr<Database>> db = Database::Open(path, Options{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  // A database file written by plain SQLite, past every guard of ours.
  static void WriteRawImage(const std::string& path, const char* sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }

  static Request Req(std::vector<std::string> sqls) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    return r;
  }

  static void MustExecute(Database& db, std::vector<std::string> sqls) {
    Response r = db.Execute(Req(std::move(sqls)));
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const StatementResult& s : r.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }

  static StatementResult QueryOne(Database& db, const std::string& sql) {
    Response r = db.Query(Req({sql}));
    EXPECT_EQ(r.results.size(), 1u);
    return r.results.empty() ? StatementResult{} : r.results[0];
  }

  static std::string Dump(Database& db, const std::vector<std::string>& tables = {}) {
    std::string out;
    Status s = db.DumpSql(
        [&](std::string_view piece) {
          out.append(piece);
          return Status::OK();
        },
        tables);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void WriteFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // A varied schema: every storage class, awkward text, views, triggers,
  // indexes, AUTOINCREMENT (sqlite_sequence) and a generated column.
  void Populate(Database& db) {
    MustExecute(db, {"CREATE TABLE \"odd \"\"name\" (id INTEGER PRIMARY KEY AUTOINCREMENT, t TEXT, r REAL, b BLOB, "
                     "i INTEGER, n)",
                     "INSERT INTO \"odd \"\"name\"(t, r, b, i, n) VALUES('it''s', 0.1, X'00FF10', 9223372036854775807, NULL)",
                     "INSERT INTO \"odd \"\"name\"(t, r, b, i, n) VALUES('line1\nline2', 1.0, X'', -1, 3.141592653589793)",
                     "INSERT INTO \"odd \"\"name\"(t, r, b, i, n) VALUES('a' || char(0) || 'b', 1e300, NULL, 0, 'x')",
                     "INSERT INTO \"odd \"\"name\"(t, r, b, i, n) VALUES('ünïcode', -2.5e-300, X'41', 1, 1e999)",
                     "CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)",
                     "INSERT INTO g(a) VALUES(21)",
                     "CREATE INDEX idx_t ON \"odd \"\"name\"(t)",
                     "CREATE VIEW v AS SELECT t FROM \"odd \"\"name\"",
                     "CREATE TABLE log (msg TEXT)",
                     "CREATE TRIGGER trg AFTER INSERT ON g BEGIN INSERT INTO log VALUES('g'); END"});
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(BackupTest, DumpStartsAndEndsLikeSqlite3) {
  MustExecute(*db_, {"CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)",
                     "INSERT INTO foo(name) VALUES('fiona')", "CREATE INDEX foo_name ON foo(name)"});
  EXPECT_EQ(Dump(*db_),
            "PRAGMA foreign_keys=OFF;\n"
            "BEGIN TRANSACTION;\n"
            "CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT);\n"
            "INSERT INTO \"foo\" VALUES(1,'fiona');\n"
            "CREATE INDEX foo_name ON foo(name);\n"
            "COMMIT;\n");
}

TEST_F(BackupTest, DumpThenLoadDumpReproducesIdenticalContent) {
  Populate(*db_);
  const std::string dump = Dump(*db_);
  EXPECT_NE(dump.find("X'00FF10'"), std::string::npos);
  EXPECT_NE(dump.find("'it''s'"), std::string::npos);
  EXPECT_NE(dump.find("DELETE FROM sqlite_sequence;"), std::string::npos);
  EXPECT_NE(dump.find("CREATE TRIGGER trg"), std::string::npos);
  EXPECT_NE(dump.find("CREATE VIEW v"), std::string::npos);

  std::unique_ptr<Database> copy = OpenAt(Path("copy.sqlite"));
  Response load = copy->LoadDump(dump);
  ASSERT_EQ(load.results.size(), 1u);
  ASSERT_TRUE(load.results[0].error.empty()) << load.results[0].error;
  EXPECT_EQ(Dump(*copy), dump);
  const std::string probe =
      "SELECT id, typeof(t), hex(t), r, typeof(r), hex(b), typeof(b), i, n, typeof(n) FROM \"odd \"\"name\" ORDER BY id";
  EXPECT_EQ(QueryOne(*copy, probe).values, QueryOne(*db_, probe).values);
  EXPECT_EQ(QueryOne(*copy, "SELECT a, b FROM g").values, (std::vector<Row>{{int64_t{21}, int64_t{42}}}));
  EXPECT_EQ(QueryOne(*copy, "SELECT seq FROM sqlite_sequence").values, (std::vector<Row>{{int64_t{4}}}));
  // The AUTOINCREMENT counter and the trigger both survived.
  MustExecute(*copy, {"INSERT INTO \"odd \"\"name\"(t) VALUES('new')", "INSERT INTO g(a) VALUES(1)"});
  EXPECT_EQ(QueryOne(*copy, "SELECT max(id) FROM \"odd \"\"name\"").values, (std::vector<Row>{{int64_t{5}}}));
  EXPECT_EQ(QueryOne(*copy, "SELECT count(*) FROM log").values, (std::vector<Row>{{int64_t{1}}}));
}

TEST_F(BackupTest, DumpRestoresAutoincrementOfTablesSortingAfterSqliteSequence) {
  MustExecute(*db_, {"CREATE TABLE zebra (id INTEGER PRIMARY KEY AUTOINCREMENT, a)", "INSERT INTO zebra(a) VALUES(1)",
                     "INSERT INTO zebra(a) VALUES(2)", "DELETE FROM zebra"});
  std::unique_ptr<Database> copy = OpenAt(Path("copy.sqlite"));
  Response load = copy->LoadDump(Dump(*db_));
  ASSERT_TRUE(load.results[0].error.empty()) << load.results[0].error;
  MustExecute(*copy, {"INSERT INTO zebra(a) VALUES(3)"});
  EXPECT_EQ(QueryOne(*copy, "SELECT id FROM zebra").values, (std::vector<Row>{{int64_t{3}}}));
}

TEST_F(BackupTest, DumpOfSelectedTablesKeepsOnlyTheirObjects) {
  Populate(*db_);
  const std::string dump = Dump(*db_, {"g"});
  EXPECT_NE(dump.find("CREATE TABLE g"), std::string::npos);
  EXPECT_NE(dump.find("CREATE TRIGGER trg"), std::string::npos);
  EXPECT_EQ(dump.find("odd"), std::string::npos);
  EXPECT_EQ(dump.find("CREATE VIEW"), std::string::npos);
}

TEST_F(BackupTest, LoadDumpIsAllOrNothing) {
  MustExecute(*db_, {"CREATE TABLE keep (a)", "INSERT INTO keep VALUES(1)"});
  Response r = db_->LoadDump(
      "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE t (a);\nINSERT INTO t VALUES(1);\n"
      "INSERT INTO nope VALUES(2);\nCOMMIT;\n");
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error, "no such table: nope");
  EXPECT_EQ(QueryOne(*db_, "SELECT * FROM t").error, "no such table: t");
  EXPECT_EQ(QueryOne(*db_, "SELECT count(*) FROM keep").values, (std::vector<Row>{{int64_t{1}}}));
  Response ok = db_->LoadDump("BEGIN TRANSACTION;\nCREATE TABLE t (a);\nINSERT INTO t VALUES(1);\nINSERT INTO t VALUES(2);\nCOMMIT;\n");
  ASSERT_TRUE(ok.results[0].error.empty()) << ok.results[0].error;
  EXPECT_EQ(ok.results[0].last_insert_id, 2);
  EXPECT_EQ(ok.results[0].rows_affected, 1);
  EXPECT_EQ(QueryOne(*db_, "SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(BackupTest, LoadDumpIgnoresTableOrderWhenForeignKeysAreOn) {
  Options options;
  options.foreign_keys = true;
  db_.reset();
  Result<std::unique_ptr<Database>> opened = Database::Open(Path("fk.sqlite"), options);
  ASSERT_TRUE(opened.ok());
  db_ = std::move(opened).value();
  // "a_child" sorts, and so dumps, before the table it references.
  const std::string dump =
      "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
      "CREATE TABLE a_child (pid INTEGER REFERENCES b_parent(id));\nINSERT INTO \"a_child\" VALUES(1);\n"
      "CREATE TABLE b_parent (id INTEGER PRIMARY KEY);\nINSERT INTO \"b_parent\" VALUES(1);\nCOMMIT;\n";
  Response r = db_->LoadDump(dump);
  ASSERT_TRUE(r.results[0].error.empty()) << r.results[0].error;
  // Foreign keys are enforced again afterwards.
  EXPECT_EQ(db_->Execute(Req({"INSERT INTO a_child VALUES(9)"})).results[0].error, "FOREIGN KEY constraint failed");
}

TEST_F(BackupTest, BinaryBackupsRoundTripInBothJournalModes) {
  Populate(*db_);
  for (BackupFormat format : {BackupFormat::kBinaryWal, BackupFormat::kBinaryDelete}) {
    for (bool vacuum : {false, true}) {
      const std::string dest = Path("backup.sqlite");
      ASSERT_TRUE(db_->Backup(dest, format, vacuum).ok());
      const std::string bytes = ReadFile(dest);
      ASSERT_GE(bytes.size(), 100u);
      EXPECT_EQ(bytes.substr(0, 16), std::string("SQLite format 3\0", 16));
      const char mode = format == BackupFormat::kBinaryWal ? 2 : 1;
      EXPECT_EQ(bytes[18], mode);
      EXPECT_EQ(bytes[19], mode);
      EXPECT_FALSE(std::filesystem::exists(dest + "-wal"));  // complete in one file
      EXPECT_TRUE(Database::ValidateImage(dest).ok());
      std::unique_ptr<Database> restored = OpenAt(Path("restored.sqlite"));
      ASSERT_TRUE(restored->LoadImage(dest).ok());
      EXPECT_EQ(Dump(*restored), Dump(*db_));
      restored.reset();
      std::filesystem::remove(Path("restored.sqlite"));
      ASSERT_TRUE(Database::DiscardWal(Path("restored.sqlite")).ok());
    }
  }
}

TEST_F(BackupTest, ValidateImageRejectsTruncatedAndCorruptFiles) {
  Populate(*db_);
  MustExecute(*db_, {"CREATE TABLE big (x)", "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200) "
                     "INSERT INTO big SELECT randomblob(500) FROM c"});
  const std::string good_path = Path("good.sqlite");
  ASSERT_TRUE(db_->Backup(good_path, BackupFormat::kBinaryDelete, false).ok());
  const std::string good = ReadFile(good_path);
  ASSERT_TRUE(Database::ValidateImage(good_path).ok());

  struct Case {
    const char* name;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"empty", ""},
      {"short", good.substr(0, 50)},
      {"not sqlite", std::string(8192, 'x')},
      {"cut mid page", good.substr(0, good.size() - 100)},
      {"cut whole pages", good.substr(0, good.size() - 4096 * 3)},
  };
  std::string bad_page_size = good;
  bad_page_size[16] = 0x03;
  bad_page_size[17] = 0x00;
  cases.push_back({"bad page size", bad_page_size});
  std::string flipped = good;
  for (size_t i = 4096 + 8; i < 4096 + 200; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  cases.push_back({"flipped btree page", flipped});
  std::string flipped_tail = good;
  for (size_t i = good.size() - 4096; i < good.size() - 4096 + 16; ++i) flipped_tail[i] = static_cast<char>(0xff);
  cases.push_back({"flipped last page header", flipped_tail});

  for (const Case& c : cases) {
    const std::string path = Path("bad.sqlite");
    WriteFile(path, c.bytes);
    Status s = Database::ValidateImage(path);
    EXPECT_TRUE(s.IsInvalidArgument()) << c.name << ": " << s.ToString();
    EXPECT_EQ(s.message().rfind("invalid SQLite data: ", 0), 0u) << c.name << ": " << s.message();
    EXPECT_EQ(ReadFile(path), c.bytes) << c.name;  // nothing touched
    EXPECT_FALSE(std::filesystem::exists(path + ".validate")) << c.name;
  }
  EXPECT_EQ(ReadFile(good_path), good);
}

TEST_F(BackupTest, LoadImageReplacesContentAtomically) {
  MustExecute(*db_, {"CREATE TABLE old (a)", "INSERT INTO old VALUES(1)"});
  std::unique_ptr<Database> other = OpenAt(Path("other.sqlite"));
  Populate(*other);
  ASSERT_TRUE(other->Backup(Path("image.sqlite"), BackupFormat::kBinaryWal, false).ok());
  ASSERT_TRUE(Database::ValidateImage(Path("image.sqlite")).ok());
  // A pooled reader exists before the load and must see the new content after.
  EXPECT_EQ(QueryOne(*db_, "SELECT count(*) FROM old").values, (std::vector<Row>{{int64_t{1}}}));
  ASSERT_TRUE(db_->LoadImage(Path("image.sqlite")).ok());
  EXPECT_EQ(QueryOne(*db_, "SELECT * FROM old").error, "no such table: old");
  EXPECT_EQ(Dump(*db_), Dump(*other));
  // Still the node's writer: WAL mode, and writes land in the WAL.
  MustExecute(*db_, {"INSERT INTO g(a) VALUES(5)"});
  EXPECT_GT(db_->WalSizeBytes().value(), 0u);
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_TRUE(Database::ValidateImage(db_->path()).ok());
}

TEST_F(BackupTest, ImagesAreCheckedAndLoadedInPlaceWhateverTheirName) {
  // Opened as immutable URIs: the characters a URI gives meaning to must
  // survive, and the image must not be touched (no -wal, no -shm, no copy).
  std::unique_ptr<Database> other = OpenAt(Path("other.sqlite"));
  Populate(*other);
  for (const char* name : {"snap?x=1#frag%41.sqlite", "plain.sqlite"}) {
    const std::string image = Path(name);
    ASSERT_TRUE(other->Backup(image, BackupFormat::kBinaryWal, false).ok());
    const std::string bytes = ReadFile(image);
    ASSERT_TRUE(Database::ValidateImage(image).ok()) << name;
    ASSERT_TRUE(db_->LoadImage(image).ok()) << name;
    EXPECT_EQ(Dump(*db_), Dump(*other)) << name;
    EXPECT_EQ(ReadFile(image), bytes) << name;
    for (const char* suffix : {"-wal", "-shm", ".validate", ".load"}) {
      EXPECT_FALSE(std::filesystem::exists(image + suffix)) << name << suffix;
    }
  }
  EXPECT_FALSE(Database::ValidateImage(Path("no such image.sqlite")).ok());
}

TEST_F(BackupTest, LoadImageWithAnotherPageSizeWorks) {
  MustExecute(*db_, {"CREATE TABLE old (a)", "INSERT INTO old VALUES(1)"});
  const std::string image = Path("page8k.sqlite");
  WriteRawImage(image, "PRAGMA page_size=8192; CREATE TABLE n (x); INSERT INTO n VALUES('eight');");
  ASSERT_TRUE(Database::ValidateImage(image).ok());
  EXPECT_EQ(QueryOne(*db_, "SELECT count(*) FROM old").values, (std::vector<Row>{{int64_t{1}}}));
  Status s = db_->LoadImage(image);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(QueryOne(*db_, "SELECT x FROM n").values, (std::vector<Row>{{std::string("eight")}}));
  // The live database keeps its own page size (WAL cannot change it).
  EXPECT_EQ(QueryOne(*db_, "PRAGMA page_size").values, (std::vector<Row>{{int64_t{4096}}}));
  MustExecute(*db_, {"INSERT INTO n VALUES('more')"});
  EXPECT_GT(db_->WalSizeBytes().value(), 0u);
}

// CheckAllowed remembers the texts it passed (db/allowed_texts.h) under a
// schema generation that DDL and loads move. A pragma reached through a
// trigger or a view is not seen at prepare, remembered or not: the writer's
// authorizer refuses it when it runs.
TEST_F(BackupTest, SchemaChangesAndLoadsMoveTheGenerationCheckAllowedRemembersUnder) {
  MustExecute(*db_, {"CREATE TABLE t (a)", "CREATE TABLE u (b)", "CREATE TABLE v (c)"});
  const Request insert = Req({"INSERT INTO t VALUES(1)"});
  const Request select = Req({"INSERT INTO u SELECT * FROM v"});
  ASSERT_TRUE(db_->CheckAllowed(insert).ok());
  ASSERT_TRUE(db_->CheckAllowed(insert).ok());  // remembered
  uint64_t generation = db_->schema_generation();
  MustExecute(*db_, {"INSERT INTO t VALUES(0)", "UPDATE t SET a = 2", "DELETE FROM t"});
  EXPECT_EQ(db_->schema_generation(), generation);  // plain writes leave it
  MustExecute(*db_, {"CREATE TRIGGER reads_pragma AFTER INSERT ON t BEGIN "
                     "INSERT INTO u SELECT * FROM pragma_journal_mode; END"});
  // Once when prepared, once more when over: readers see it only then.
  EXPECT_EQ(db_->schema_generation(), generation + 2);
  generation = db_->schema_generation();
  ASSERT_TRUE(db_->CheckAllowed(insert).ok());
  Response fired = db_->Execute(insert);
  ASSERT_EQ(fired.results.size(), 1u);
  EXPECT_NE(fired.results[0].error.find("prohibited"), std::string::npos) << fired.results[0].error;
  EXPECT_EQ(QueryOne(*db_, "SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{0}}}));

  const std::string image = Path("pragma_view.sqlite");
  WriteRawImage(image, "CREATE TABLE u (b); CREATE VIEW v AS SELECT * FROM pragma_journal_mode;");
  ASSERT_TRUE(db_->CheckAllowed(select).ok());
  ASSERT_TRUE(db_->LoadImage(image).ok());
  EXPECT_GT(db_->schema_generation(), generation);
  generation = db_->schema_generation();
  ASSERT_TRUE(db_->CheckAllowed(select).ok());
  Response copied = db_->Execute(select);
  ASSERT_EQ(copied.results.size(), 1u);
  EXPECT_NE(copied.results[0].error.find("prohibited"), std::string::npos) << copied.results[0].error;
  Response load = db_->LoadDump("DROP VIEW v; CREATE TABLE v (c);");
  ASSERT_EQ(load.results.size(), 1u);
  ASSERT_TRUE(load.results[0].error.empty()) << load.results[0].error;
  EXPECT_GT(db_->schema_generation(), generation);
  EXPECT_TRUE(db_->Execute(select).results[0].error.empty());
  // The schema edited without DDL.
  generation = db_->schema_generation();
  MustExecute(*db_, {"PRAGMA writable_schema=ON"});
  EXPECT_GT(db_->schema_generation(), generation);
  generation = db_->schema_generation();
  MustExecute(*db_, {"UPDATE sqlite_schema SET sql = sql WHERE name = 'v'"});
  EXPECT_GT(db_->schema_generation(), generation);
  MustExecute(*db_, {"PRAGMA writable_schema=OFF"});
}

}  // namespace
}  // namespace rq::db
