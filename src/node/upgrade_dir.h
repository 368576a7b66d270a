// PrepareDataDir: run once at start, before the store opens. It decides
// whether the data directory can be started on, and converts one that Go
// rqlite left (docs/upgrade.md):
//   empty or ours        -> nothing to do;
//   Go rqlite's, alone   -> convert in place, then start normally;
//   mixed or unknown     -> refuse, naming the files; nothing is changed.
//
// The conversion never writes to a Go file. It builds our files in
// <dir>/upgrade.tmp/ (db.sqlite from the latest snapshot, raft/log/ from the
// log entries after it, the hard state, raft/snapshot.meta with the
// membership), renames that to <dir>/upgrade.ready/ (the commit point), then
// moves the Go files into <dir>/go-rqlite/ and ours into place. A crash
// before the commit point leaves the Go directory as it was (upgrade.tmp is
// deleted at the next start); after it, the next start finishes the moves.
//
// Thread-safety: stateless; one call per data directory, before anything
// else opens it.
#pragma once

#include <string>

#include "base/status.h"
#include "env/file_system.h"
#include "upgrade/layout.h"

namespace rq::node {

// Who this node is, from its flags.
struct LocalNode {
  std::string id;         // -node-id
  std::string raft_addr;  // -raft-adv-addr
  std::string api_addr;   // -http-adv-addr (host:port, no scheme)
};

struct PrepareOutcome {
  upgrade::DataDirInspection found;  // what was there before anything was done
  bool converted = false;   // a Go directory was converted now
  bool resumed = false;     // an interrupted conversion was finished
  // What happened, one line per fact, for the log.
  std::vector<std::string> report;
};

// `fs` must be a real file system (SQLite checks the converted database).
Result<PrepareOutcome> PrepareDataDir(env::FileSystem& fs, const std::string& dir, const LocalNode& self);

namespace upgrade_names {
inline constexpr char kStaging[] = "upgrade.tmp";
inline constexpr char kReady[] = "upgrade.ready";
inline constexpr char kPlan[] = "PLAN";          // inside upgrade.ready
inline constexpr char kOriginals[] = "go-rqlite";  // + ".N" when taken
}  // namespace upgrade_names

}  // namespace rq::node
