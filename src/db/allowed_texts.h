// SQL texts CheckAllowed has already passed, so that a client repeating one
// INSERT is not prepared on a reader for every request (a full SQLite parse
// on the HTTP thread: about 6% of a leader's CPU under 64 writers).
//
// The authorizer's verdict is taken at prepare, which sees the objects a
// statement reaches, so in principle it can change with the schema. The
// texts are remembered under a schema generation (Database moves it
// whenever the writer prepares DDL or loads an image or a dump) and
// forgotten when it moves. A stale "allowed" would cost only the early
// error: the writer's own authorizer still refuses when the write runs.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include "base/bounded_text_map.h"

namespace rq::db {

class AllowedTexts {
 public:
  static constexpr size_t kTextsMax = 512;
  static constexpr size_t kTextBytesMax = 4096;

  // True if every text in `texts` was remembered under `generation`.
  bool AllKnown(std::span<const std::string_view> texts, uint64_t generation) {
    std::lock_guard lock(mu_);
    Sync(generation);
    for (std::string_view text : texts) {
      if (known_.Find(text) == nullptr) return false;
    }
    return true;
  }

  // Remembers `texts`, checked against the schema of `generation`.
  void Remember(std::span<const std::string_view> texts, uint64_t generation) {
    std::lock_guard lock(mu_);
    Sync(generation);
    if (generation != generation_) return;  // checked against an older schema
    for (std::string_view text : texts) known_.Put(text, true);
  }

 private:
  // REQUIRES: mu_ held. Forgets everything once the schema moved past it.
  void Sync(uint64_t generation) {
    if (generation <= generation_) return;
    known_.Clear();
    generation_ = generation;
  }

  std::mutex mu_;
  uint64_t generation_ = 0;                                   // GUARDED_BY(mu_)
  BoundedTextMap<bool> known_{kTextsMax, kTextBytesMax};  // GUARDED_BY(mu_)
};

}  // namespace rq::db
