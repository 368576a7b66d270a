// Shutdown signals: sigwait at the end of a node's life, and a watcher
// thread while it forms a cluster (see signals.h for why exiting there is
// safe).
#include "node/signals.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>

#include "base/logging.h"

namespace rq::node {
namespace {

sigset_t ShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

int WaitForShutdownSignal() {
  sigset_t signals = ShutdownSignals();
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

FormationInterrupt::FormationInterrupt()
    : thread_([this] {
        sigset_t signals = ShutdownSignals();
        const timespec tick{0, 100 * 1000 * 1000};
        while (!done_.load()) {
          int received = sigtimedwait(&signals, nullptr, &tick);
          if (received <= 0) continue;
          received_ = received;
          for (int waited = 0; waited < 20 && !done_.load(); ++waited) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
          if (done_.load()) return;
          RQ_LOG_WARN("received signal {} before the node joined a cluster; exiting", received);
          spdlog::shutdown();
          std::_Exit(1);
        }
      }) {}

FormationInterrupt::~FormationInterrupt() { Finish(); }

int FormationInterrupt::Finish() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
  return received_.load();
}

}  // namespace rq::node
