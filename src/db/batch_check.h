// Whether a request without ?transaction may run as one SQLite transaction
// (one commit instead of one per statement) with the results autocommit
// would give: Database::RunWriteRequest decides with it.
//
// Thread-safety: stateless.
#pragma once

#include "command/types.h"

namespace rq::db {

// Plain DML only (INSERT, UPDATE, DELETE, REPLACE first), one statement per
// string, and no word that opens, ends or names a transaction, nor
// changes(), total_changes() or last_insert_rowid(), anywhere (even inside a
// literal: conservative by design).
bool CanBatchInOneTransaction(const command::Request& request);

// The same test for a request that is to share one transaction with the
// writes around it (Database::ExecuteGroup): a single statement is enough.
bool CanShareTransaction(const command::Request& request);

}  // namespace rq::db
