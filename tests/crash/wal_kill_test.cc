// kill -9 tests of the WAL on the real disk: a child process appends, syncs
// and reports each durable index through a pipe; the parent SIGKILLs it at a
// random moment, reopens the log and checks that every reported record is
// there, intact. A process kill keeps the page cache, so this exercises
// half-finished writes and recovery on a real file system rather than power
// loss (which the MemFileSystem tests cover).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/random.h"
#include "env/posix_file_system.h"
#include "wal/wal.h"

namespace rq::wal {
namespace {

Options SmallSegments() {
  Options options;
  options.segment_bytes_max = 8192;
  return options;
}

std::string PayloadFor(uint64_t index) {
  std::string payload = "record " + std::to_string(index) + " ";
  payload.append(index % 300, static_cast<char>('a' + index % 26));
  return payload;
}

// The child: appends and syncs forever, reporting durable indexes.
[[noreturn]] void RunChild(const std::string& dir, int report_fd, uint64_t seed) {
  auto wal = Wal::Open(env::DefaultFileSystem(), dir, SmallSegments());
  if (!wal.ok()) _exit(2);
  Random random(seed);
  while (true) {
    std::vector<Record> records;
    LogIndex next = (*wal)->last_index() + 1;
    for (uint64_t i = random.Range(1, 8); i > 0; --i, ++next) {
      records.push_back(Record{next, Term(1), 0, PayloadFor(next.value())});
    }
    if (!(*wal)->Append(records).ok() || !(*wal)->Sync().ok()) _exit(3);
    uint64_t durable = (*wal)->durable_index().value();
    if (random.Chance(1, 20) && durable > 100) {
      if (!(*wal)->CompactPrefix(LogIndex(durable - 100)).ok()) _exit(4);
    }
    if (write(report_fd, &durable, sizeof(durable)) != sizeof(durable)) _exit(5);
  }
}

TEST(WalKillTest, EveryReportedDurableRecordSurvivesKill9) {
  char tmpl[] = "/tmp/rq_wal_kill_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Random random(42);
  uint64_t acked_max = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir, fds[1], 1000 + static_cast<uint64_t>(round));
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(random.Range(20, 150)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
    uint64_t durable = 0;
    while (::read(fds[0], &durable, sizeof(durable)) == sizeof(durable)) acked_max = std::max(acked_max, durable);
    ::close(fds[0]);

    auto wal = Wal::Open(env::DefaultFileSystem(), dir, SmallSegments());
    ASSERT_TRUE(wal.ok()) << "round " << round << ": " << wal.status().ToString();
    LogIndex first = (*wal)->first_index();
    LogIndex last = (*wal)->last_index();
    ASSERT_GE(last.value(), acked_max) << "round " << round;
    auto records = (*wal)->Read(first, last + 1, UINT64_MAX);
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    ASSERT_EQ(records->size(), last - first + 1);
    for (const Record& record : *records) ASSERT_EQ(record.payload, PayloadFor(record.index.value()));
  }
  EXPECT_GT(acked_max, 100u);  // the children got real work done
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace rq::wal
