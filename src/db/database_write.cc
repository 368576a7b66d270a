// Database's write side: a request's statements on the writer, in
// autocommit or in one transaction (?transaction, a batch of plain DML, a
// group of consecutive writes), with the results autocommit would give.
#include <optional>
#include <vector>

#include "db/batch_check.h"
#include "db/database.h"
#include "db/db_metrics.h"

namespace rq::db {
namespace {

using Clock = std::chrono::steady_clock;

// Whether a deferred foreign key is left unresolved. Autocommit checks it
// when the statement commits and fails that statement; inside a longer
// transaction a later statement could resolve it first, so a shared
// transaction gives up as soon as one is pending.
bool DeferredForeignKeyPending(sqlite3* db) {
  int current = 0;
  int highest = 0;
  sqlite3_db_status(db, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highest, 0);
  return current > 0;
}

void CountWrite(const command::Request& request, const command::Response& response, bool as_request) {
  DbMetrics& counters = DbCounters();
  const auto statements = static_cast<int64_t>(request.statements.size());
  if (as_request) {
    counters.requests.Add(statements);
    if (request.transaction) counters.request_transactions.Add();
    return;
  }
  counters.executions.Add(statements);
  counters.execution_errors.Add(static_cast<int64_t>(FailedStatements(response)));
  if (request.transaction) counters.execute_transactions.Add();
}

}  // namespace

command::Response Database::Execute(const command::Request& request) {
  WriterLock lock(this);
  command::Response response = RunWriteRequest(request, RunMode::kExecute);
  CountWrite(request, response, false);
  return response;
}

command::Response Database::ExecuteOrQuery(const command::Request& request) {
  WriterLock lock(this);
  command::Response response = RunWriteRequest(request, RunMode::kAuto);
  CountWrite(request, response, true);
  return response;
}

std::optional<std::vector<command::Response>> Database::ExecuteGroup(std::span<const GroupedWrite> writes,
                                                                     size_t* breaker) {
  WriterLock lock(this);
  RQ_ASSERT(writer_ != nullptr);
  std::optional<std::vector<command::Response>> responses = RunInOneTransaction(writes, true, breaker);
  if (responses && !abandoned() && responses->size() == writes.size() &&
      responses->back().environmental_error.empty()) {
    for (size_t i = 0; i < writes.size(); ++i) CountWrite(*writes[i].request, (*responses)[i], writes[i].as_request);
  }
  return responses;
}

// A write that failed because of this node's environment (see
// IsEnvironmentalFailure) stops there, rolled back, and says so in
// environmental_error: its results would not be what a replica records.
static command::Response StopOnEnvironment(Connection& conn, command::Response response, std::string error) {
  conn.RollbackIfOpen();
  response.environmental_error = std::move(error);
  return response;
}

command::Response Database::RunWriteRequest(const command::Request& request, RunMode mode) {
  RQ_ASSERT(writer_ != nullptr);
  if (CanBatchInOneTransaction(request)) {
    const uint64_t random_state = writer_->random().state();
    const GroupedWrite batch{&request, mode == RunMode::kAuto, 0};
    std::optional<std::vector<command::Response>> batched = RunInOneTransaction({&batch, 1}, false, nullptr);
    if (batched) return std::move(batched->front());
    // The transaction ended inside the batch (a ROLLBACK conflict clause, a
    // trigger's RAISE(ROLLBACK), an interrupt, a deferred foreign key left
    // pending, or COMMIT failed): nothing of it remains, so run it again
    // statement by statement, exactly as autocommit would have, drawing
    // the same random values as if the batch had never run.
    writer_->random().Restore(random_state);
  }
  const auto start = Clock::now();
  command::Response response;
  Connection& conn = *writer_;
  if (request.transaction) {
    if (Status s = conn.Exec("BEGIN"); !s.ok()) {
      response.error = sqlite3_errmsg(conn.handle());
      if (IsEnvironmentalFailure(conn.handle())) {
        std::string error = response.error;
        return StopOnEnvironment(conn, std::move(response), std::move(error));
      }
      return response;
    }
    NoteWriterTransaction();
  }
  bool failed = false;
  StatementCache cache;
  for (const command::Statement& statement : request.statements) {
    if (statement.sql.empty()) continue;  // rqlite skips these without a result
    response.results.push_back(RunWriteStatement(request, statement, mode, cache));
    NoteWriterTransaction();  // the SQL may have opened one (BEGIN)
    if (response.results.back().environmental) {
      std::string error = response.results.back().error;
      return StopOnEnvironment(conn, std::move(response), std::move(error));
    }
    if (!response.results.back().error.empty() && request.transaction) {
      failed = true;
      break;
    }
  }
  if (request.transaction && !failed && conn.InTransaction() && !abandoned()) {
    if (Status s = conn.Exec("COMMIT"); !s.ok()) {
      response.error = sqlite3_errmsg(conn.handle());
      if (IsEnvironmentalFailure(conn.handle())) {
        std::string error = response.error;
        return StopOnEnvironment(conn, std::move(response), std::move(error));
      }
    }
  }
  // Failed ?transaction, failed COMMIT, or a BEGIN the SQL left open: no
  // transaction ever spans two requests.
  conn.RollbackIfOpen();
  response.time_s = SecondsSince(start);
  return response;
}

command::StatementResult Database::RunWriteStatement(const command::Request& request,
                                                    const command::Statement& statement, RunMode mode,
                                                    StatementCache& cache) {
  RunOptions run{statement.returns_rows ? RunMode::kQuery : mode, request.qualify_columns, false,
                 request.db_timeout_ns, options_.fill_expression_types, request.vm_step_budget};
  run.cache = &cache;
  if (capture_) capture_->BeforeStatement();
  command::StatementResult result = RunStatement(*writer_, statement, run);
  if (capture_) capture_->AfterStatement(!result.error.empty());
  return result;
}

std::optional<std::vector<command::Response>> Database::RunInOneTransaction(std::span<const GroupedWrite> writes,
                                                                             bool group, size_t* breaker) {
  Connection& conn = *writer_;
  if (breaker != nullptr) *breaker = 0;
  // A rollback leaves the connection's last rowid where the discarded run
  // put it; the writes run again must see (and report) the one before.
  const sqlite3_int64 rowid_before = sqlite3_last_insert_rowid(conn.handle());
  auto give_up = [&](size_t write) -> std::optional<std::vector<command::Response>> {
    conn.RollbackIfOpen();
    sqlite3_set_last_insert_rowid(conn.handle(), rowid_before);
    if (breaker != nullptr) *breaker = write;
    return std::nullopt;
  };
  if (!conn.Exec("BEGIN").ok()) return give_up(0);
  NoteWriterTransaction();
  std::vector<command::Response> responses;
  responses.reserve(writes.size());
  // Consecutive writes mostly repeat one text (an INSERT per client
  // request): each is prepared once for the whole transaction.
  StatementCache cache;
  for (const GroupedWrite& write : writes) {
    if (group) writer_->random() = Random(write.random_seed);
    const auto start = Clock::now();
    const command::Request& request = *write.request;
    const RunMode mode = write.as_request ? RunMode::kAuto : RunMode::kExecute;
    command::Response& response = responses.emplace_back();
    for (const command::Statement& statement : request.statements) {
      response.results.push_back(RunWriteStatement(request, statement, mode, cache));
      if (response.results.back().environmental) {
        std::string error = response.results.back().error;
        response = StopOnEnvironment(conn, std::move(response), std::move(error));
        return responses;
      }
      // Nothing of an abandoned write is kept, nor run again.
      if (abandoned()) {
        conn.RollbackIfOpen();
        return responses;
      }
      // A failed statement normally undoes only itself (as in autocommit);
      // if it took the whole transaction with it, or autocommit would have
      // failed it at its commit, start again one by one. In a group of
      // writes a failed statement is left to autocommit too: replicas group
      // differently, and what a failure undoes inside a transaction (a
      // virtual table without savepoints, a statement journal on a full
      // disk) is not always what it undoes alone.
      const bool failed = !response.results.back().error.empty();
      if (!conn.InTransaction() || DeferredForeignKeyPending(conn.handle()) || (group && failed)) {
        return give_up(responses.size() - 1);
      }
    }
    response.time_s = SecondsSince(start);
  }
  if (!conn.Exec("COMMIT").ok()) {
    std::string error = sqlite3_errmsg(conn.handle());
    if (IsEnvironmentalFailure(conn.handle())) {
      responses.back() = StopOnEnvironment(conn, std::move(responses.back()), error);
      return responses;
    }
    return give_up(0);
  }
  return responses;
}

}  // namespace rq::db
