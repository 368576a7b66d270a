// RQ_ASSERT: programmer errors crash with the failed condition and where.
// Always on, in release builds too (TigerBeetle's rule): a broken invariant in
// a database must stop the process before it writes anything wrong.
#pragma once

namespace rq::detail {
[[noreturn]] void AssertFail(const char* expr, const char* file, int line, const char* message);
}  // namespace rq::detail

#define RQ_ASSERT(cond)                                                    \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::rq::detail::AssertFail(#cond, __FILE__, __LINE__, nullptr);        \
  } while (0)

#define RQ_ASSERT_MSG(cond, msg)                                           \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::rq::detail::AssertFail(#cond, __FILE__, __LINE__, (msg));          \
  } while (0)

#define RQ_UNREACHABLE() ::rq::detail::AssertFail("unreachable", __FILE__, __LINE__, nullptr)
