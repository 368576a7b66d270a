// TraceRecorder: complete events in Chrome's trace-event format, escaped
// names, a bounded buffer that counts what it drops.
#include "metrics/trace.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace rq::metrics {
namespace {

TEST(TraceRecorderTest, SpansBecomeCompleteEventsWithThreadAndStatus) {
  TraceRecorder trace(10);
  auto start = std::chrono::steady_clock::now();
  trace.Span("http", "/db/execute", start, std::chrono::microseconds(1500), 200);
  trace.Span("log", "fsync \"quoted\"\n", start, std::chrono::microseconds(20));
  boost::json::object doc = boost::json::parse(trace.ToJson()).as_object();
  const boost::json::array& events = doc.at("traceEvents").as_array();
  ASSERT_EQ(events.size(), 3u);  // process name, then the spans
  const boost::json::object& http = events[1].as_object();
  EXPECT_EQ(http.at("name").as_string(), "/db/execute");
  EXPECT_EQ(http.at("ph").as_string(), "X");
  EXPECT_DOUBLE_EQ(http.at("dur").to_number<double>(), 1500.0);
  EXPECT_GT(http.at("tid").as_int64(), 0);
  EXPECT_EQ(http.at("args").at("status").as_int64(), 200);
  const boost::json::object& fsync = events[2].as_object();
  EXPECT_EQ(fsync.at("name").as_string(), "fsync \"quoted\"\n");
  EXPECT_FALSE(fsync.contains("args"));
}

TEST(TraceRecorderTest, PastTheLimitSpansAreDroppedAndCounted) {
  TraceRecorder trace(2);
  for (int i = 0; i < 5; ++i) trace.Span("http", "/x", std::chrono::steady_clock::now(), std::chrono::nanoseconds(1));
  EXPECT_EQ(trace.dropped(), 3u);
  boost::json::object doc = boost::json::parse(trace.ToJson()).as_object();
  EXPECT_EQ(doc.at("traceEvents").as_array().size(), 3u);
  EXPECT_EQ(doc.at("otherData").at("dropped_events").as_int64(), 3);
}

TEST(TraceRecorderTest, OnlyAnInstalledRecorderIsActive) {
  EXPECT_EQ(ActiveTrace(), nullptr);
  TraceRecorder trace(1);
  SetActiveTrace(&trace);
  EXPECT_EQ(ActiveTrace(), &trace);
  SetActiveTrace(nullptr);
  EXPECT_EQ(ActiveTrace(), nullptr);
}

}  // namespace
}  // namespace rq::metrics
