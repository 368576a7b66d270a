#include "base/io_thread.h"

namespace rq {

namespace {
thread_local bool io_thread = false;
}  // namespace

void MarkIoThread() { io_thread = true; }
bool OnIoThread() { return io_thread; }

}  // namespace rq
