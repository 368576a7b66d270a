// Crash tests of the WAL over MemFileSystem: a seeded workload (append, sync,
// conflict truncation, compaction, hard state, reset) is cut at every
// mutating file operation in turn, the disk loses what was not synced
// (optionally tearing the last writes, optionally leaving zeros where lost
// bytes were), and the reopened log must:
//  - open (a crash never produces a log that refuses to start),
//  - hold every record acknowledged as durable, intact,
//  - return only records that were written at that index (never garbage),
//  - hold the last saved hard state, or the one being saved at the crash,
//  - keep working: appends and syncs after recovery survive another reopen.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <optional>

#include "base/random.h"
#include "env/mem_file_system.h"
#include "wal/wal.h"

namespace rq::wal {
namespace {

constexpr int kSteps = 70;
const std::string kDir = "/wal";

Options SmallSegments() {
  Options options;
  options.segment_bytes_max = 400;
  return options;
}

// What the workload has been told, and so what recovery must honour.
struct Model {
  std::map<uint64_t, Record> current;                  // the log as the Wal reports it
  std::map<uint64_t, Record> guaranteed;               // acknowledged durable
  std::map<uint64_t, std::vector<Record>> history;     // every version ever written
  uint64_t min_last = 0;                               // recovered last_index() >= this
  std::optional<HardState> hard_ok;
  std::optional<HardState> hard_inflight;
};

class Workload {
 public:
  Workload(Wal* wal, uint64_t seed, Model* model) : wal_(wal), random_(seed), model_(model) {}

  // Runs until the steps are done or an operation fails (the "process died").
  void Run() {
    for (int step = 0; step < kSteps; ++step) {
      uint64_t dice = random_.Uniform(100);
      Status s;
      if (dice < 40) s = AppendAt(wal_->last_index() + 1);
      else if (dice < 60) s = Sync();
      else if (dice < 70) s = Conflict();
      else if (dice < 78) s = Compact();
      else if (dice < 94) s = SaveHardState();
      else s = Reset();
      if (!s.ok()) return;
    }
  }

 private:
  Record NewRecord(LogIndex index) {
    Record record;
    record.index = index;
    record.term = Term(term_);
    record.type = static_cast<uint8_t>(random_.Uniform(3));
    record.payload = "i=" + std::to_string(index.value()) + " s=" + std::to_string(serial_++) + " ";
    record.payload.append(random_.Uniform(120), static_cast<char>('a' + random_.Uniform(26)));
    return record;
  }

  Status AppendAt(LogIndex first) {
    if (first == LogIndex(0)) first = LogIndex(1);
    std::vector<Record> records;
    uint64_t count = random_.Range(1, 4);
    for (uint64_t i = 0; i < count; ++i) records.push_back(NewRecord(first + i));
    // Forget guarantees the truncation may remove before it starts.
    model_->guaranteed.erase(model_->guaranteed.lower_bound(first.value()), model_->guaranteed.end());
    model_->min_last = std::min(model_->min_last, first.value() - 1);
    for (const Record& r : records) model_->history[r.index.value()].push_back(r);
    RQ_RETURN_IF_ERROR(wal_->Append(records));
    model_->current.erase(model_->current.lower_bound(first.value()), model_->current.end());
    for (const Record& r : records) model_->current[r.index.value()] = r;
    return Status::OK();
  }

  Status Sync() {
    RQ_RETURN_IF_ERROR(wal_->Sync());
    uint64_t durable = wal_->durable_index().value();
    EXPECT_EQ(durable, wal_->last_index().value());
    for (const auto& [index, record] : model_->current) {
      if (index <= durable) model_->guaranteed[index] = record;
    }
    model_->min_last = std::max(model_->min_last, durable);
    return Status::OK();
  }

  Status Conflict() {
    uint64_t first = wal_->first_index().value();
    uint64_t last = wal_->last_index().value();
    if (last < first || last == 0) return AppendAt(wal_->last_index() + 1);
    ++term_;
    return AppendAt(LogIndex(random_.Range(std::max(first, last > 3 ? last - 3 : 1), last)));
  }

  Status Compact() {
    uint64_t first = std::max<uint64_t>(wal_->first_index().value(), 1);
    uint64_t durable = wal_->durable_index().value();
    if (durable < first) return Status::OK();
    uint64_t through = random_.Range(first, durable);
    model_->guaranteed.erase(model_->guaranteed.begin(), model_->guaranteed.upper_bound(through));
    RQ_RETURN_IF_ERROR(wal_->CompactPrefix(LogIndex(through)));
    model_->current.erase(model_->current.begin(), model_->current.upper_bound(through));
    model_->min_last = std::max(model_->min_last, through);
    return Status::OK();
  }

  Status SaveHardState() {
    HardState state{Term(term_), "node-" + std::to_string(random_.Uniform(5)), LogIndex(random_.Uniform(50))};
    model_->hard_inflight = state;
    RQ_RETURN_IF_ERROR(wal_->SaveHardState(state));
    model_->hard_ok = state;
    model_->hard_inflight.reset();
    return Status::OK();
  }

  Status Reset() {
    uint64_t last = wal_->last_index().value();
    uint64_t snapshot = random_.Range(last > 5 ? last - 5 : 0, last + 5);
    ++term_;
    model_->guaranteed.clear();
    model_->min_last = std::min(model_->min_last, snapshot);
    RQ_RETURN_IF_ERROR(wal_->Reset(LogIndex(snapshot), Term(term_)));
    model_->current.clear();
    model_->min_last = snapshot;
    return Status::OK();
  }

  Wal* wal_;
  Random random_;
  Model* model_;
  uint64_t term_ = 1;
  uint64_t serial_ = 0;
};

bool InHistory(const Model& model, const Record& record) {
  auto it = model.history.find(record.index.value());
  if (it == model.history.end()) return false;
  for (const Record& version : it->second) {
    if (version == record) return true;
  }
  return false;
}

void CheckRecovered(env::MemFileSystem* fs, const Model& model, const std::string& where) {
  auto opened = Wal::Open(fs, kDir, SmallSegments());
  ASSERT_TRUE(opened.ok()) << where << ": " << opened.status().ToString();
  Wal& wal = **opened;
  uint64_t first = wal.first_index().value();
  uint64_t last = wal.last_index().value();
  ASSERT_GE(last, model.min_last) << where;
  for (const auto& [index, record] : model.guaranteed) {
    ASSERT_GE(index, first) << where;
    ASSERT_LE(index, last) << where;
    auto got = wal.Read(LogIndex(index), LogIndex(index + 1), UINT64_MAX);
    ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
    ASSERT_EQ((*got)[0], record) << where << " index " << index;
  }
  if (last >= first && last > 0) {
    auto all = wal.Read(LogIndex(first), LogIndex(last + 1), UINT64_MAX);
    ASSERT_TRUE(all.ok()) << where << ": " << all.status().ToString();
    ASSERT_EQ(all->size(), last - first + 1) << where;
    for (const Record& record : *all) ASSERT_TRUE(InHistory(model, record)) << where << " index " << record.index;
  }
  EXPECT_FALSE(wal.Read(LogIndex(last + 1), LogIndex(last + 2), UINT64_MAX).ok()) << where;
  if (model.hard_inflight.has_value()) {
    EXPECT_TRUE(wal.hard_state() == model.hard_ok || wal.hard_state() == model.hard_inflight) << where;
  } else {
    EXPECT_EQ(wal.hard_state(), model.hard_ok) << where;
  }
  // The recovered log keeps working across another reopen.
  Record next{LogIndex(last + 1), Term(1000), 0, "after recovery"};
  ASSERT_TRUE(wal.Append({next}).ok()) << where;
  ASSERT_TRUE(wal.Sync().ok()) << where;
  opened->reset();
  auto again = Wal::Open(fs, kDir, SmallSegments());
  ASSERT_TRUE(again.ok()) << where << ": " << again.status().ToString();
  auto got = (*again)->Read(next.index, next.index + 1, UINT64_MAX);
  ASSERT_TRUE(got.ok()) << where;
  EXPECT_EQ((*got)[0], next) << where;
}

// Mutating operations the uninterrupted workload performs after Open.
int64_t CountOps(uint64_t seed) {
  env::MemFileSystem fs;
  RQ_ASSERT(fs.CreateDir(kDir).ok());
  auto wal = Wal::Open(&fs, kDir, SmallSegments());
  RQ_ASSERT(wal.ok());
  int64_t before = fs.op_count();
  Model model;
  Workload(wal->get(), seed, &model).Run();
  return fs.op_count() - before;
}

// Returns the number of crash points checked.
enum class Tear { kNone, kPrefix, kPrefixThenZeros };

int64_t CrashAtEveryOperation(uint64_t seed, Tear tear) {
  int64_t total = CountOps(seed);
  EXPECT_GT(total, 50);
  for (int64_t crash_at = 0; crash_at <= total; ++crash_at) {
    env::MemFileSystem fs;
    Random tear_random(seed * 7919 + static_cast<uint64_t>(crash_at));
    if (tear != Tear::kNone) fs.SetTearSource(&tear_random, tear == Tear::kPrefixThenZeros);
    RQ_ASSERT(fs.CreateDir(kDir).ok());
    Model model;
    {
      auto wal = Wal::Open(&fs, kDir, SmallSegments());
      RQ_ASSERT(wal.ok());
      fs.CrashAfterOps(crash_at);
      Workload(wal->get(), seed, &model).Run();
    }
    fs.Crash();
    std::string where = "seed " + std::to_string(seed) + " crash after op " + std::to_string(crash_at) + "/" +
                        std::to_string(total) + (tear == Tear::kNone ? "" : tear == Tear::kPrefix ? " (torn)" : " (torn, zero-filled)");
    CheckRecovered(&fs, model, where);
    if (::testing::Test::HasFatalFailure()) return crash_at;
  }
  return total + 1;
}

TEST(WalCrashTest, EveryAcknowledgedRecordSurvivesACrashAtAnyOperation) {
  int64_t points = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    points += CrashAtEveryOperation(seed, Tear::kNone);
    if (HasFatalFailure()) return;
  }
  RecordProperty("crash_points", static_cast<int>(points));
  std::printf("crash points checked: %lld\n", static_cast<long long>(points));
}

TEST(WalCrashTest, TornWritesAtTheCrashNeverCorruptTheRecoveredLog) {
  int64_t points = 0;
  for (uint64_t seed = 101; seed <= 112; ++seed) {
    points += CrashAtEveryOperation(seed, Tear::kPrefix);
    if (HasFatalFailure()) return;
  }
  RecordProperty("crash_points", static_cast<int>(points));
  std::printf("crash points checked: %lld\n", static_cast<long long>(points));
}

TEST(WalCrashTest, ZeroFilledTornTailsAreTruncatedNotRefused) {
  int64_t points = 0;
  for (uint64_t seed = 201; seed <= 206; ++seed) {
    points += CrashAtEveryOperation(seed, Tear::kPrefixThenZeros);
    if (HasFatalFailure()) return;
  }
  RecordProperty("crash_points", static_cast<int>(points));
  std::printf("crash points checked: %lld\n", static_cast<long long>(points));
}

TEST(WalCrashTest, RepeatedCrashesDuringRecoveryAreHarmless) {
  // Crash the workload, then crash again inside the first reopen itself.
  for (int64_t crash_at = 0; crash_at < 40; crash_at += 3) {
    env::MemFileSystem fs;
    Random tear_random(static_cast<uint64_t>(crash_at));
    fs.SetTearSource(&tear_random);
    ASSERT_TRUE(fs.CreateDir(kDir).ok());
    Model model;
    {
      auto wal = Wal::Open(&fs, kDir, SmallSegments());
      ASSERT_TRUE(wal.ok());
      fs.CrashAfterOps(crash_at);
      Workload(wal->get(), 99, &model).Run();
    }
    fs.Crash();
    for (int64_t recovery_ops = 0; recovery_ops < 4; ++recovery_ops) {
      fs.CrashAfterOps(recovery_ops);
      (void)Wal::Open(&fs, kDir, SmallSegments());
      fs.Crash();
    }
    CheckRecovered(&fs, model, "crash_at " + std::to_string(crash_at));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace rq::wal
