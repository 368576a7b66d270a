// Marks the threads that serve many connections at once (the HTTP I/O
// threads), so code reached from a request can tell whether it may block:
// on such a thread one slow call holds up every connection the thread serves.
//
// Thread-safety: each thread reads and sets only its own mark.
#pragma once

namespace rq {

// Called once by an I/O thread, before it serves anything.
void MarkIoThread();
// True on a thread that called MarkIoThread.
bool OnIoThread();

}  // namespace rq
