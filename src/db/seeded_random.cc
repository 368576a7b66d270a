#include "db/seeded_random.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace rq::db {
namespace {

Random* RandomOf(sqlite3_context* context) {
  return static_cast<Random*>(sqlite3_user_data(context));
}

// As SQLite's randomFunc: a negative value has its sign bit masked off and is
// negated, so the result is never INT64_MIN (whose abs() overflows).
void RandomFunction(sqlite3_context* context, int, sqlite3_value**) {
  auto r = static_cast<int64_t>(RandomOf(context)->Next());
  if (r < 0) r = -(r & INT64_MAX);
  sqlite3_result_int64(context, r);
}

// As SQLite's randomBlob: N < 1 (or not a number) gives one byte; more than
// the connection's length limit is "string or blob too big".
void RandomBlobFunction(sqlite3_context* context, int, sqlite3_value** argv) {
  sqlite3_int64 n = sqlite3_value_int64(argv[0]);
  if (n < 1) n = 1;
  const int limit = sqlite3_limit(sqlite3_context_db_handle(context), SQLITE_LIMIT_LENGTH, -1);
  if (n > limit) {
    sqlite3_result_error_toobig(context);
    return;
  }
  const auto size = static_cast<sqlite3_uint64>(n);
  auto* bytes = static_cast<unsigned char*>(sqlite3_malloc64(size));
  if (bytes == nullptr) {
    sqlite3_result_error_nomem(context);
    return;
  }
  Random* random = RandomOf(context);
  for (sqlite3_uint64 i = 0; i < size; i += sizeof(uint64_t)) {
    const uint64_t word = random->Next();
    unsigned char chunk[sizeof(uint64_t)];
    for (size_t k = 0; k < sizeof(chunk); ++k) chunk[k] = static_cast<unsigned char>(word >> (8 * k));
    std::memcpy(bytes + i, chunk, std::min<sqlite3_uint64>(sizeof(chunk), size - i));
  }
  sqlite3_result_blob64(context, bytes, size, sqlite3_free);
}

}  // namespace

Status InstallSeededRandom(sqlite3* db, Random* random) {
  // Not SQLITE_DETERMINISTIC (each call differs, as the built-ins); harmless
  // anywhere, so SQLITE_INNOCUOUS keeps them usable from the schema (DEFAULT,
  // triggers, views) even with trusted_schema off.
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_INNOCUOUS;
  const struct {
    const char* name;
    int args;
    void (*function)(sqlite3_context*, int, sqlite3_value**);
  } functions[] = {{"random", 0, RandomFunction}, {"randomblob", 1, RandomBlobFunction}};
  for (const auto& f : functions) {
    if (sqlite3_create_function_v2(db, f.name, f.args, kFlags, random, f.function, nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      return Status::IOError(std::string("register ") + f.name + "(): " + sqlite3_errmsg(db));
    }
  }
  return Status::OK();
}

}  // namespace rq::db
