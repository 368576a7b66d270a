// Names the calling thread, as `top -H`, `ps -L`, perf and gdb show it, so an
// operator can tell the Raft loop from the apply thread in a busy process.
#pragma once

#include <string_view>

namespace rq {

// Linux keeps 15 bytes of a name; longer names are cut there.
void NameThisThread(std::string_view name);

}  // namespace rq
