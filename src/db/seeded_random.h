// Seeded random(): the writer connection's random() and randomblob(N).
//
// SQLite's built-ins draw from its process-wide PRNG, seeded differently on
// every node, so SQL that SQLite evaluates inside a write (a DEFAULT
// (random()) clause, a trigger body, a view, ORDER BY random()) would store
// different values on each replica. The leader's rewriting (command/
// sql_processor.h) cannot reach those: they are stored in the schema and run
// at apply time. InstallSeededRandom registers application-defined functions
// of the same names on the writer; they override the built-ins and draw from
// a generator the caller reseeds before each write. The same writes with the
// same seeds give the same values on every replica (and on a replay), while
// each call, row and write still gets a value of its own.
//
// SQLite's semantics are kept: random() is a signed 64-bit integer (never
// INT64_MIN), randomblob(N) is max(N, 1) bytes ("string or blob too big"
// past SQLITE_LIMIT_LENGTH). Read-only connections keep SQLite's own.
//
// Thread-safety: none; it belongs to the writer connection, used by one
// thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>

#include "base/random.h"
#include "base/status.h"

namespace rq::db {

// Registers random() and randomblob(N) on `db`, drawing from `random`.
// REQUIRES: `random` outlives `db`'s use of the functions.
Status InstallSeededRandom(sqlite3* db, Random* random);

}  // namespace rq::db
