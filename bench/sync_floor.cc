// sync_floor: what the disk and loopback alone cost a replicated write on
// this machine, with no HTTP, SQLite, Raft or threads in the way.
//
// For each case it prints the p50/p90 of one round:
//   alone        append 100 bytes to a pre-zeroed file + fdatasync
//   concurrent K K processes doing that at once, each on its own file
//   followers F  a "leader" sends 100 bytes over loopback TCP to F follower
//                processes, appends + fdatasyncs its own copy, and is done
//                when its sync and the first follower's answer are in (a
//                3-node majority); each follower appends + fdatasyncs, then
//                answers
// The ratio "alone / followers 2" is the best cluster/single ratio a 3-node
// cluster of any implementation could show here before its own software
// costs; bench/run_cluster.sh measures ours.
//
// Usage: sync_floor [dir] [rounds]   (defaults: . 3000)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr size_t kRecord = 100;
constexpr off_t kFileBytes = 4 << 20;  // 40k records before the offset wraps

double NowUs() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Zero-filled and synced first, as the Raft log's segments are: a later
// fdatasync then flushes data only, with no journal commit.
int OpenZeroed(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("open");
  std::vector<char> zeros(1 << 20, 0);
  for (off_t done = 0; done < kFileBytes; done += static_cast<off_t>(zeros.size())) {
    if (::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size())) Die("write");
  }
  if (::fsync(fd) != 0) Die("fsync");
  return fd;
}

void AppendAndSync(int fd, long round) {
  char record[kRecord] = {'x'};
  off_t at = static_cast<off_t>(round * kRecord) % kFileBytes;
  if (::pwrite(fd, record, kRecord, at) != static_cast<ssize_t>(kRecord)) Die("pwrite");
  if (::fdatasync(fd) != 0) Die("fdatasync");
}

void Report(const char* label, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("%-14s p50 %6.1f us  p90 %6.1f us\n", label, us[us.size() / 2], us[us.size() * 9 / 10]);
  std::fflush(stdout);
}

std::vector<double> SyncLoop(const std::string& path, long rounds) {
  int fd = OpenZeroed(path);
  std::vector<double> us;
  for (long i = 0; i < rounds; ++i) {
    double start = NowUs();
    AppendAndSync(fd, i);
    us.push_back(NowUs() - start);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return us;
}

// K processes at once; the first one's figures are printed (they match).
void Concurrent(const std::string& dir, int k, long rounds) {
  std::vector<pid_t> children;
  for (int i = 1; i < k; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      SyncLoop(dir + "/sync_floor.c" + std::to_string(i), rounds);
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  auto us = SyncLoop(dir + "/sync_floor.c0", rounds);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  Report(("concurrent " + std::to_string(k)).c_str(), std::move(us));
}

void Follower(const std::string& path, uint16_t port) {
  int fd = OpenZeroed(path);
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::usleep(1000);
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char record[kRecord];
  for (long i = 0; ::recv(sock, record, kRecord, MSG_WAITALL) == static_cast<ssize_t>(kRecord); ++i) {
    AppendAndSync(fd, i);
    if (::send(sock, record, 1, 0) != 1) break;
  }
  ::close(fd);
  ::unlink(path.c_str());
}

void Replicated(const std::string& dir, int followers, long rounds) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 8) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen");
  }
  std::vector<pid_t> children;
  for (int i = 0; i < followers; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      Follower(dir + "/sync_floor.f" + std::to_string(i), ntohs(addr.sin_port));
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  std::vector<int> peers;
  for (int i = 0; i < followers; ++i) {
    int peer = ::accept(listener, nullptr, nullptr);
    int one = 1;
    ::setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    peers.push_back(peer);
  }
  int fd = OpenZeroed(dir + "/sync_floor.leader");
  std::vector<double> us;
  char record[kRecord] = {'r'};
  for (long i = 0; i < rounds; ++i) {
    double start = NowUs();
    for (int peer : peers) ::send(peer, record, kRecord, 0);
    AppendAndSync(fd, i);
    std::vector<pollfd> waiting;
    for (int peer : peers) waiting.push_back({peer, POLLIN, 0});
    bool answered = false;
    while (!waiting.empty()) {
      ::poll(waiting.data(), waiting.size(), -1);
      for (size_t w = 0; w < waiting.size();) {
        if (waiting[w].revents & POLLIN) {
          char ack;
          ::recv(waiting[w].fd, &ack, 1, 0);
          if (!answered) us.push_back(NowUs() - start);  // leader + first follower: a majority of 3
          answered = true;
          waiting.erase(waiting.begin() + static_cast<long>(w));
        } else {
          ++w;
        }
      }
    }
    ::usleep(100);  // a client's turn-around, so rounds do not run back to back
  }
  for (int peer : peers) ::close(peer);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  ::close(fd);
  ::close(listener);
  ::unlink((dir + "/sync_floor.leader").c_str());
  Report(("followers " + std::to_string(followers)).c_str(), std::move(us));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  long rounds = argc > 2 ? std::atol(argv[2]) : 3000;
  if (rounds < 10) {
    std::fprintf(stderr, "usage: sync_floor [dir] [rounds >= 10]\n");
    return 2;
  }
  Report("alone", SyncLoop(dir + "/sync_floor.alone", rounds));
  Concurrent(dir, 2, rounds);
  Concurrent(dir, 3, rounds);
  Replicated(dir, 1, rounds);
  Replicated(dir, 2, rounds);
  return 0;
}
