// SQL guard: refuses statements that would escape or break the replicated
// database (API.md "Our decisions" 6, 4.2): the four disallowed PRAGMAs in
// every spelling, ATTACH, DETACH and VACUUM INTO.
//
// Two layers. CheckTokens is a lexical scan that needs no schema, so it also
// sees statements hidden behind one that fails to prepare. The authorizer
// (InstallGuardAuthorizer) sits permanently on every connection Database
// opens: at prepare time it records and denies what it recognises, and at
// execution time it denies the nested PRAGMA that the pragma_* table-valued
// functions and VACUUM INTO's internal ATTACH run, so nothing slips through
// even if a caller skipped Database::CheckAllowed.
//
// Thread-safety: CheckTokens is pure. A GuardState belongs to one connection
// and is touched only by the thread using that connection.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace rq::db {

// Exact texts returned to clients.
inline constexpr std::string_view kDisallowedPragma = "disallowed pragma";
inline constexpr std::string_view kAttachRefused = "ATTACH is not allowed";
inline constexpr std::string_view kDetachRefused = "DETACH is not allowed";
inline constexpr std::string_view kVacuumIntoRefused = "VACUUM INTO is not allowed";

enum class Refusal { kNone, kPragma, kAttach, kDetach };

struct GuardState {
  // Set while Database itself runs a guarded PRAGMA (checkpoint, open).
  bool internal = false;
  // The first thing the authorizer denied since the last reset.
  Refusal refused = Refusal::kNone;
  // When set (the writer's), counts every DDL statement prepared, and
  // schema_touched notes it until Database counts it again once the
  // statement is over: what a text may do can change with the schema (see
  // db/allowed_texts.h).
  std::atomic<uint64_t>* schema_changes = nullptr;
  bool schema_touched = false;
};

// True for journal_mode, wal_checkpoint, wal_autocheckpoint, synchronous in
// any letter case.
bool IsDisallowedPragmaName(std::string_view name);

// Lexical check of a whole SQL string (any number of statements).
// InvalidArgument with one of the texts above, or OK.
Status CheckTokens(std::string_view sql);

// Installs the guard authorizer on `db`; `state` must outlive the connection.
void InstallGuardAuthorizer(sqlite3* db, GuardState* state);

// The client-facing status for a refusal recorded by the authorizer.
Status RefusalStatus(Refusal refusal);

}  // namespace rq::db
