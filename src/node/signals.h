// SIGINT and SIGTERM for a node: waiting for them at the end, and honouring
// them while the node forms or joins a cluster (which can take minutes).
// Both expect the signals blocked in every thread (rqlited's main does it).
#pragma once

#include <atomic>
#include <thread>

namespace rq::node {

// Blocks until SIGINT or SIGTERM arrives; returns its number.
int WaitForShutdownSignal();

// While alive, a shutdown signal still stops the node. A formation that
// ends within a short grace goes on to the normal shutdown; otherwise the
// process exits at once: nothing has been acknowledged to anyone yet and
// whatever Raft state arrived is already durable, so that is as safe as
// the kill -9 the tests exercise.
class FormationInterrupt {
 public:
  FormationInterrupt();
  ~FormationInterrupt();
  FormationInterrupt(const FormationInterrupt&) = delete;
  FormationInterrupt& operator=(const FormationInterrupt&) = delete;
  // Formation ended; returns the signal received meanwhile, or 0.
  int Finish();

 private:
  std::atomic<bool> done_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

}  // namespace rq::node
