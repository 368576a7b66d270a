// Reading a SQLite WAL file the way SQLite's recovery does, without SQLite:
// Go rqlite v10's incremental snapshots are WAL files (its own compacting
// writer, standard format) that the conversion replays onto the previous
// full snapshot. SQLite silently ignores frames it cannot verify, so a
// damaged WAL would lose its changes without an error; checking the file
// first turns that into a refusal naming it.
//
// Format facts (sqlite.org/fileformat2.html, "The Write-Ahead Log"): a
// 32-byte header of big-endian words (magic 0x377f0682 or 0x377f0683, the
// low bit choosing big-endian checksum words; version 3007000; page size;
// checkpoint sequence; two salts; a checksum of the first 24 bytes), then
// frames of a 24-byte header (page number, database size in pages for a
// commit frame else 0, the two salts, a cumulative checksum over the frame
// header's first 8 bytes and the page) and one page. A frame is valid when
// its salts match the header's and the running checksum matches; only
// frames up to the last valid commit frame count.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace rq::upgrade {

struct SqliteWalSummary {
  uint32_t page_size = 0;
  uint64_t frames = 0;          // every frame, all valid (checked)
  uint32_t database_pages = 0;  // the last commit frame's size; 0 when no frames
};

// Corruption naming `path` unless the whole file is a valid WAL: a good
// header, every frame valid, the last frame a commit, no partial frame at
// the end. An empty file, or a header with no frames, is a valid empty WAL
// (page_size 0 for the empty file).
Result<SqliteWalSummary> CheckSqliteWal(std::string_view bytes, std::string_view path);

}  // namespace rq::upgrade
