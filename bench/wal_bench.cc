// WAL durability throughput on the real disk: GroupCommitLog with 1, 16 and
// 64 concurrent appenders (one fdatasync covers every record appended
// meanwhile) against one fdatasync per record.
//
// Files go to a fresh directory under $RQ_BENCH_DIR (default: the current
// directory, which should be on a real disk, not tmpfs). Each run reports
// records_per_s; the ratio of a group-commit row to the per-record row is the
// gain of batching. Records are 100-byte payloads.
//
// The last argument of each run is the preallocation: 0 appends to growing
// segment files, 1 writes into a zero-filled spare prepared (untimed) before
// the first append, so each fdatasync flushes data without a journal commit
// for the file size. The ratio of a /1 row to its /0 row is that gain.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "env/posix_file_system.h"
#include "wal/group_commit_log.h"
#include "wal/wal.h"

namespace {

constexpr size_t kPayloadBytes = 100;

// Every run gets a directory of its own, all deleted only after the last
// run: deleting preallocated files frees blocks, and on a disk mounted with
// -o discard the discards would otherwise slow the syncs of the next run.
std::vector<std::string>& Dirs() {
  static std::vector<std::string> dirs;
  return dirs;
}

std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("RQ_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : ".") + "/wal_bench_" + name + "_" +
                    std::to_string(Dirs().size());
  std::string cmd = "rm -rf '" + dir + "'";
  RQ_ASSERT(std::system(cmd.c_str()) == 0);
  RQ_ASSERT(rq::env::DefaultFileSystem()->CreateDir(dir).ok());
  Dirs().push_back(dir);
  return dir;
}

void RemoveDirs() {
  for (const std::string& dir : Dirs()) {
    std::string cmd = "rm -rf '" + dir + "'";
    RQ_ASSERT(std::system(cmd.c_str()) == 0);
  }
}

// Opens a WAL in dir and appends its first record, untimed: the segment
// creation, and with preallocation the filling of the spares (the first and
// the next), are set-up, not the steady state being measured; a log fills a
// spare once per segment_bytes_max of records.
std::unique_ptr<rq::wal::Wal> OpenWal(benchmark::State& state, const std::string& dir, bool preallocate) {
  state.PauseTiming();
  rq::wal::Options options;
  // A run writes far less than a segment; small segments keep the untimed
  // filling of spares (and the deletion of all files at exit) cheap.
  options.segment_bytes_max = 4 << 20;
  if (preallocate) options.preallocation = rq::wal::Preallocation::kBackground;
  auto wal = rq::wal::Wal::Open(rq::env::DefaultFileSystem(), dir, options);
  RQ_ASSERT(wal.ok());
  if (preallocate) RQ_ASSERT((*wal)->TEST_WaitForSpare());
  rq::wal::Record first;
  first.index = rq::LogIndex(1);
  first.term = rq::Term(1);
  RQ_ASSERT((*wal)->Append({first}).ok());
  RQ_ASSERT((*wal)->Sync().ok());
  if (preallocate) RQ_ASSERT((*wal)->TEST_WaitForSpare());
  state.ResumeTiming();
  return std::move(*wal);
}

rq::wal::Record MakeRecord() {
  rq::wal::Record record;
  record.term = rq::Term(1);
  record.payload.assign(kPayloadBytes, 'x');
  return record;
}

// appenders threads, each appending records_per_thread single-record batches
// and waiting for each to be durable.
void BM_GroupCommit(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  const int records_per_thread = static_cast<int>(state.range(1));
  const bool preallocate = state.range(2) != 0;
  uint64_t records = 0;
  uint64_t syncs = 0;
  for (auto _ : state) {
    std::string dir = FreshDir("group_" + std::to_string(appenders));
    rq::wal::GroupCommitLog log(OpenWal(state, dir, preallocate));
    std::vector<std::thread> threads;
    for (int t = 0; t < appenders; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < records_per_thread; ++i) RQ_ASSERT(log.AppendAndWait({MakeRecord()}).ok());
      });
    }
    for (auto& thread : threads) thread.join();
    records += static_cast<uint64_t>(appenders) * records_per_thread;
    syncs += log.sync_count();
  }
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["records_per_sync"] = static_cast<double>(records) / static_cast<double>(syncs);
}
BENCHMARK(BM_GroupCommit)
    ->Args({1, 300, 0})
    ->Args({1, 300, 1})
    ->Args({16, 100, 0})
    ->Args({16, 100, 1})
    ->Args({64, 50, 0})
    ->Args({64, 50, 1})
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The baseline: append one record, fdatasync, repeat.
void BM_SyncPerRecord(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const bool preallocate = state.range(1) != 0;
  uint64_t records = 0;
  for (auto _ : state) {
    std::string dir = FreshDir("per_record");
    auto wal = OpenWal(state, dir, preallocate);
    for (int i = 0; i < count; ++i) {
      rq::wal::Record record = MakeRecord();
      record.index = wal->last_index() + 1;
      RQ_ASSERT(wal->Append({record}).ok());
      RQ_ASSERT(wal->Sync().ok());
    }
    records += static_cast<uint64_t>(count);
  }
  state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SyncPerRecord)->Args({300, 0})->Args({300, 1})->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  RemoveDirs();
  return 0;
}
