// ChangeListener: what the store tells change data capture (node/ wires
// cdc::Service to it): the rows each applied entry changed, the delivered
// high-water mark when its entry applies, and when a snapshot is about to
// make the log before it unavailable for replay.
//
// Thread-safety: every call comes from the store's apply thread.
#pragma once

#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "command/row_change.h"

namespace rq::store {

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // The committed rows of the entry at `index`, in order; never empty.
  // Entries are replayed after a restart (from the last snapshot), so the
  // same index may come again with the same rows. An error (the rows could
  // not be kept, e.g. a full disk) is logged; the database goes on.
  virtual Status OnChanges(LogIndex index, std::vector<command::RowChange> rows) = 0;
  // A kCdcHighWaterMark entry applied: the sink has every event up to `index`.
  virtual void OnHighWaterMark(LogIndex index) = 0;
  // Before a snapshot at `index`: whatever OnChanges received up to it must
  // be durable, since a restart no longer replays those entries. An error
  // fails the snapshot (it is retried later).
  virtual Status BeforeSnapshot(LogIndex index) = 0;
};

}  // namespace rq::store
