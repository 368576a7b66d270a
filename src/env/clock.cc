#include "env/clock.h"

#include "base/assert.h"

namespace rq::env {

Clock* DefaultClock() {
  static RealClock* clock = new RealClock();  // never destroyed: used until exit
  return clock;
}

void ManualClock::Advance(std::chrono::nanoseconds delta) {
  RQ_ASSERT(delta.count() >= 0);
  std::lock_guard lock(mu_);
  now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(delta);
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(delta);
}

}  // namespace rq::env
