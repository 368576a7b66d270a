// Database: backup, SQL dump, image validation and loading.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "db/database.h"

namespace rq::db {
namespace {

constexpr std::string_view kHeaderMagic{"SQLite format 3\0", 16};
constexpr size_t kHeaderBytes = 100;
constexpr size_t kVersionOffsetWrite = 18;  // 1 = rollback journal, 2 = WAL
constexpr size_t kVersionOffsetRead = 19;
static_assert(kHeaderMagic.size() == 16);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Status Invalid(std::string_view why) { return Status::InvalidArgument("invalid SQLite data: " + std::string(why)); }

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

// Removes a temporary database file (and its sidecars) on scope exit.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) { RemoveQuietly(path_); }
  ~TempFile() { RemoveQuietly(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<DbPtr> OpenRaw(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::IOError("open " + path + ": " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  return db;
}

Status ExecRaw(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::IOError(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  return Status::OK();
}

// Copies every page of `source` into `dest` in one step (one read snapshot of
// the source, one write transaction on the destination).
Status CopyPages(sqlite3* dest, sqlite3* source) {
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source, "main");
  if (backup == nullptr) return Status::IOError(std::string("backup init: ") + sqlite3_errmsg(dest));
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE || finish != SQLITE_OK) {
    return Status::IOError(std::string("backup: ") + sqlite3_errstr(step != SQLITE_DONE ? step : finish));
  }
  return Status::OK();
}

uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// The header's page size, or 0 when it is not a power of two in [512, 65536].
uint32_t PageSize(const unsigned char* header) {
  uint32_t size = (uint32_t{header[16]} << 8) | header[17];
  if (size == 1) size = 65536;
  if (size < 512 || size > 65536 || (size & (size - 1)) != 0) return 0;
  return size;
}

// Header, page size and file size checks that need no SQLite.
Status CheckHeader(const std::string& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError("stat " + path + ": " + ec.message());
  if (size < kHeaderBytes) return Invalid("file of " + std::to_string(size) + " bytes is too short for a SQLite header");
  std::array<unsigned char, kHeaderBytes> header{};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(header.data()), header.size())) return Status::IOError("read " + path);
  if (std::memcmp(header.data(), kHeaderMagic.data(), kHeaderMagic.size()) != 0) {
    return Invalid("missing SQLite header magic");
  }
  const uint32_t page_size = PageSize(header.data());
  if (page_size == 0) return Invalid("bad page size in header");
  if (size % page_size != 0) {
    return Invalid("file size " + std::to_string(size) + " is not a multiple of the page size " +
                   std::to_string(page_size) + " (truncated?)");
  }
  // The in-header page count is meaningful when the change counter (24)
  // matches version-valid-for (92); then the file must hold that many pages.
  const uint32_t pages = ReadBigEndian32(&header[28]);
  if (pages != 0 && ReadBigEndian32(&header[24]) == ReadBigEndian32(&header[92]) &&
      uint64_t{pages} * page_size > size) {
    return Invalid("file holds " + std::to_string(size / page_size) + " pages but its header says " +
                   std::to_string(pages) + " (truncated)");
  }
  return Status::OK();
}

// Opens an image read-only as immutable: no locks, no -wal or -shm files,
// and a WAL-mode header reads as the file alone (a received snapshot or
// uploaded backup is complete in one file). No copy is made, so a 1 GB
// image is not written again just to be checked or loaded.
Result<DbPtr> OpenImmutable(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    // The characters a URI path gives meaning to.
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[static_cast<unsigned char>(c) >> 4];
      uri += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      uri += c;
    }
  }
  uri += "?immutable=1";
  return OpenRaw(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
}

// A private copy of an image that opens in rollback mode: a WAL-mode header
// (without its WAL) would need -shm files and locking on the original.
Status MakeRollbackCopy(const std::string& source, const std::string& target) {
  std::error_code ec;
  std::filesystem::copy_file(source, target, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Status::IOError("copy " + source + " to " + target + ": " + ec.message());
  std::fstream f(target, std::ios::binary | std::ios::in | std::ios::out);
  const char rollback[2] = {1, 1};
  f.seekp(static_cast<std::streamoff>(kVersionOffsetWrite));
  static_assert(kVersionOffsetRead == kVersionOffsetWrite + 1);
  if (!f.write(rollback, 2)) return Status::IOError("patch header of " + target);
  return Status::OK();
}

std::string QuoteName(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0xf];
  }
  return out;
}

// A REAL literal that reads back as the same double and stays REAL.
std::string QuoteReal(double v) {
  if (std::isinf(v)) return v > 0 ? "1e999" : "-1e999";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string out = buf;
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

// A SQL literal for column `i` of a row.
std::string QuoteColumn(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return std::to_string(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
      return QuoteReal(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const auto* p = sqlite3_column_text(stmt, i);
      const auto n = static_cast<size_t>(sqlite3_column_bytes(stmt, i));
      std::string_view text(reinterpret_cast<const char*>(p), n);
      if (text.find('\0') != std::string_view::npos) return "CAST(X'" + Hex(p, n) + "' AS TEXT)";
      std::string out = "'";
      for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
      }
      return out + "'";
    }
    case SQLITE_BLOB:
      return "X'" + Hex(static_cast<const unsigned char*>(sqlite3_column_blob(stmt, i)),
                        static_cast<size_t>(sqlite3_column_bytes(stmt, i))) + "'";
    default:
      return "NULL";
  }
}

Result<StmtPtr> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Status::IOError(sql + ": " + sqlite3_errmsg(db));
  }
  return StmtPtr(raw);
}

std::string Text(sqlite3_stmt* stmt, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
  return p == nullptr ? "" : p;
}

// First column of the first row.
Result<std::string> QueryOne(sqlite3* db, const std::string& sql) {
  Result<StmtPtr> stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return Text(stmt->get(), 0);
  if (rc == SQLITE_DONE) return std::string();
  return Status::IOError(sql + ": " + sqlite3_errmsg(db));
}

// Writes one INSERT per row of `table`, naming the columns only when some
// are generated (those cannot be inserted).
Status DumpRows(sqlite3* db, const std::string& table, const DumpWriter& write) {
  Result<StmtPtr> info = Prepare(db, "PRAGMA table_xinfo(" + QuoteName(table) + ")");
  if (!info.ok()) return info.status();
  std::string columns;
  bool has_hidden = false;
  while (sqlite3_step(info->get()) == SQLITE_ROW) {
    if (sqlite3_column_int(info->get(), 6) != 0) {
      has_hidden = true;
      continue;
    }
    columns += (columns.empty() ? "" : ",") + QuoteName(Text(info->get(), 1));
  }
  if (columns.empty()) return Status::OK();
  Result<StmtPtr> rows = Prepare(db, "SELECT " + columns + " FROM " + QuoteName(table));
  if (!rows.ok()) return rows.status();
  const std::string prefix = "INSERT INTO " + QuoteName(table) + (has_hidden ? "(" + columns + ")" : "") + " VALUES(";
  const int n = sqlite3_column_count(rows->get());
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
    std::string line = prefix;
    for (int i = 0; i < n; ++i) line += (i == 0 ? "" : ",") + QuoteColumn(rows->get(), i);
    line += ");\n";
    RQ_RETURN_IF_ERROR(write(line));
  }
  if (rc != SQLITE_DONE) return Status::IOError("dump " + table + ": " + sqlite3_errmsg(db));
  return Status::OK();
}

bool Wanted(const std::vector<std::string>& tables, const std::string& name) {
  return tables.empty() || std::find(tables.begin(), tables.end(), name) != tables.end();
}

Status DumpTables(sqlite3* db, const DumpWriter& write, const std::vector<std::string>& tables) {
  Result<StmtPtr> schema = Prepare(
      db,
      // sqlite_sequence and sqlite_stat1 last: they exist only once the user
      // tables that need them have been created by the earlier statements.
      "SELECT name, sql FROM sqlite_master WHERE sql NOT NULL AND type = 'table' "
      "ORDER BY substr(name, 1, 7) = 'sqlite_', name");
  if (!schema.ok()) return schema.status();
  while (sqlite3_step(schema->get()) == SQLITE_ROW) {
    const std::string name = Text(schema->get(), 0);
    const std::string sql = Text(schema->get(), 1);
    if (!Wanted(tables, name)) continue;
    if (name == "sqlite_sequence") {
      RQ_RETURN_IF_ERROR(write("DELETE FROM sqlite_sequence;\n"));
    } else if (name == "sqlite_stat1") {
      RQ_RETURN_IF_ERROR(write("ANALYZE sqlite_master;\n"));
    } else if (name.rfind("sqlite_", 0) == 0) {
      continue;
    } else {
      RQ_RETURN_IF_ERROR(write(sql + ";\n"));
      // A virtual table's rows live in its shadow tables.
      if (sql.size() >= 20 && sqlite3_strnicmp(sql.c_str(), "CREATE VIRTUAL TABLE", 20) == 0) continue;
    }
    RQ_RETURN_IF_ERROR(DumpRows(db, name, write));
  }
  return Status::OK();
}

Status DumpSchemaObjects(sqlite3* db, const DumpWriter& write, const std::vector<std::string>& tables) {
  // Creation (rowid) order keeps views that use views valid.
  Result<StmtPtr> objects = Prepare(
      db, "SELECT tbl_name, sql FROM sqlite_master WHERE sql NOT NULL AND type IN ('index', 'trigger', 'view')");
  if (!objects.ok()) return objects.status();
  while (sqlite3_step(objects->get()) == SQLITE_ROW) {
    if (!Wanted(tables, Text(objects->get(), 0))) continue;
    RQ_RETURN_IF_ERROR(write(Text(objects->get(), 1) + ";\n"));
  }
  return Status::OK();
}

// The dump's own BEGIN TRANSACTION / COMMIT / END, which LoadDump replaces
// with its own transaction.
bool IsTransactionControl(sqlite3_stmt* stmt) {
  const char* sql = sqlite3_sql(stmt);
  while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r') ++sql;
  for (const char* word : {"BEGIN", "COMMIT", "END"}) {
    const size_t n = std::strlen(word);
    const char after = sql[std::min(n, std::strlen(sql))];
    if (sqlite3_strnicmp(sql, word, static_cast<int>(n)) == 0 &&
        (after == '\0' || after == ';' || after == ' ' || after == '\t' || after == '\n' || after == '\r')) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status Database::Backup(const std::string& dest_path, BackupFormat format, bool vacuum) {
  RemoveQuietly(dest_path);
  Result<DbPtr> dest = OpenRaw(dest_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!dest.ok()) return dest.status();
  {
    Result<ReaderLease> lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    RQ_RETURN_IF_ERROR(CopyPages(dest->get(), (*lease)->handle()));
  }
  // The copied header still says WAL; settle the mode before anything else.
  RQ_RETURN_IF_ERROR(ExecRaw(dest->get(), "PRAGMA journal_mode=DELETE"));
  if (vacuum) RQ_RETURN_IF_ERROR(ExecRaw(dest->get(), "VACUUM"));
  if (format == BackupFormat::kBinaryWal) RQ_RETURN_IF_ERROR(ExecRaw(dest->get(), "PRAGMA journal_mode=WAL"));
  // Closing the last connection checkpoints any WAL into the file itself.
  sqlite3* raw = dest->release();
  if (sqlite3_close(raw) != SQLITE_OK) {
    sqlite3_close_v2(raw);
    return Status::IOError("close backup " + dest_path);
  }
  return Status::OK();
}

Status Database::DumpSql(const DumpWriter& write, const std::vector<std::string>& tables) {
  Result<ReaderLease> lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  sqlite3* db = (*lease)->handle();
  // One read transaction: the whole dump sees one snapshot.
  RQ_RETURN_IF_ERROR((*lease)->Exec("BEGIN"));
  RQ_RETURN_IF_ERROR(write("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"));
  RQ_RETURN_IF_ERROR(DumpTables(db, write, tables));
  RQ_RETURN_IF_ERROR(DumpSchemaObjects(db, write, tables));
  RQ_RETURN_IF_ERROR(write("COMMIT;\n"));
  (*lease)->RollbackIfOpen();
  return Status::OK();
}

Status Database::ValidateImage(const std::string& path) {
  RQ_RETURN_IF_ERROR(CheckHeader(path));
  Result<DbPtr> db = OpenImmutable(path);
  if (!db.ok()) return Invalid(db.status().message());
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db->get(), "PRAGMA integrity_check", -1, &raw, nullptr) != SQLITE_OK) {
    return Invalid(sqlite3_errmsg(db->get()));
  }
  StmtPtr stmt(raw);
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return Invalid(sqlite3_errmsg(db->get()));
  const std::string first = Text(stmt.get(), 0);
  if (first != "ok") return Invalid("integrity check failed: " + first);
  return Status::OK();
}

Status Database::LoadImage(const std::string& path) {
  RQ_RETURN_IF_ERROR(CheckHeader(path));
  WriterLock lock(this);
  // Whatever the outcome, texts checked against the old schema are forgotten.
  struct SchemaMoved {
    std::atomic<uint64_t>& generation;
    ~SchemaMoved() { generation.fetch_add(1, std::memory_order_release); }
  } moved{schema_generation_};
  Connection& writer = *writer_;
  writer.RollbackIfOpen();
  Result<std::string> writer_page = writer.QueryText("PRAGMA page_size");
  if (!writer_page.ok()) return writer_page.status();
  Result<DbPtr> source = OpenImmutable(path);
  if (!source.ok()) return Invalid(source.status().message());
  Result<std::string> source_page = QueryOne(source->get(), "PRAGMA page_size");
  if (!source_page.ok()) return Invalid(source_page.status().message());
  if (*source_page == *writer_page) return CopyPages(writer.handle(), source->get());
  // A WAL database cannot change its page size, and leaving WAL would need
  // every reader gone; so a private copy takes the live page size instead.
  source->reset();
  TempFile copy(path + ".load");
  RQ_RETURN_IF_ERROR(MakeRollbackCopy(path, copy.path()));
  source = OpenRaw(copy.path(), SQLITE_OPEN_READWRITE);
  if (!source.ok()) return Invalid(source.status().message());
  const std::string resize = "PRAGMA page_size=" + *writer_page + "; VACUUM;";
  RQ_RETURN_IF_ERROR(ExecRaw(source->get(), resize.c_str()));
  return CopyPages(writer.handle(), source->get());
}

command::Response Database::LoadDump(const std::string& sql) {
  const auto start = std::chrono::steady_clock::now();
  command::Response response;
  WriterLock lock(this);
  Connection& writer = *writer_;
  writer.RollbackIfOpen();
  // A dump lists tables by name, not by dependency; its own "PRAGMA
  // foreign_keys=OFF" is a no-op inside our transaction, so switch them off
  // around it, as sqlite3's .read of a dump would.
  if (options_.foreign_keys) RQ_ASSERT(writer.Exec("PRAGMA foreign_keys=OFF").ok());
  command::StatementResult result = RunDumpInTransaction(writer, sql);
  schema_generation_.fetch_add(1, std::memory_order_release);  // the authorizer counted its DDL; and the rest
  if (options_.foreign_keys) RQ_ASSERT(writer.Exec("PRAGMA foreign_keys=ON").ok());
  if (result.environmental) response.environmental_error = result.error;
  result.time_s = SecondsSince(start);
  response.results.push_back(std::move(result));
  response.time_s = response.results.back().time_s;
  return response;
}

command::StatementResult Database::RunDumpInTransaction(Connection& writer, const std::string& sql) {
  command::StatementResult result;
  if (Status s = writer.Exec("BEGIN"); !s.ok()) {
    result.error = sqlite3_errmsg(writer.handle());
    result.environmental = IsEnvironmentalFailure(writer.handle());
    return result;
  }
  NoteWriterTransaction();
  const char* next = sql.data();
  const char* const end = next + sql.size();
  while (next < end && result.error.empty()) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(writer.handle(), next, static_cast<int>(end - next), &raw, &tail);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) {
      result.error = sqlite3_errmsg(writer.handle());
      result.environmental = IsEnvironmentalFailure(writer.handle());
      break;
    }
    if (stmt == nullptr && tail == next) {
      // SQLite stops at a NUL byte without moving on: without this the
      // loop would never end, and the apply thread with it.
      result.error = "the dump holds a NUL byte at offset " + std::to_string(next - sql.data());
      break;
    }
    next = tail;
    if (stmt == nullptr || IsTransactionControl(stmt.get())) continue;
    int step = SQLITE_ROW;
    while ((step = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    }
    if (step != SQLITE_DONE) {
      result.error = sqlite3_errmsg(writer.handle());
      result.environmental = IsEnvironmentalFailure(writer.handle());
    } else if (!writer.InTransaction()) {
      result.error = "the dump ended its transaction early";
    } else {
      result.last_insert_id = sqlite3_last_insert_rowid(writer.handle());
      result.rows_affected = sqlite3_changes64(writer.handle());
    }
  }
  if (result.error.empty()) {
    if (Status s = writer.Exec("COMMIT"); !s.ok()) {
      result.error = sqlite3_errmsg(writer.handle());
      result.environmental = IsEnvironmentalFailure(writer.handle());
    }
  }
  writer.RollbackIfOpen();  // all or nothing
  if (!result.error.empty()) {
    result.last_insert_id = 0;
    result.rows_affected = 0;
  }
  return result;
}

}  // namespace rq::db
