#include "metrics/prometheus.h"

#include <gtest/gtest.h>

#include <thread>

namespace rq::metrics {
namespace {

TEST(PrometheusTest, CountersOfOneFamilyShareOneHelpAndTypeLine) {
  Exposition exposition;
  exposition.Counter("rqlite_http_requests_total", "Requests.", {{"endpoint", "/db/query"}, {"code", "200"}}).Add(3);
  exposition.Counter("rqlite_http_requests_total", "ignored", {{"endpoint", "/db/execute"}, {"code", "503"}}).Add();
  TextWriter writer;
  exposition.WriteTo(writer);
  EXPECT_EQ(writer.text(),
            "# HELP rqlite_http_requests_total Requests.\n"
            "# TYPE rqlite_http_requests_total counter\n"
            "rqlite_http_requests_total{endpoint=\"/db/execute\",code=\"503\"} 1\n"
            "rqlite_http_requests_total{endpoint=\"/db/query\",code=\"200\"} 3\n");
}

TEST(PrometheusTest, TheSameSeriesIsTheSameCounter) {
  Exposition exposition;
  Counter& first = exposition.Counter("rqlite_x_total", "x", {{"a", "1"}});
  Counter& again = exposition.Counter("rqlite_x_total", "x", {{"a", "1"}});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &exposition.Counter("rqlite_x_total", "x", {{"a", "2"}}));
}

TEST(PrometheusTest, HistogramBucketsAreCumulativeAndEndInInf) {
  Exposition exposition;
  Histogram& latency = exposition.Histogram("rqlite_request_duration_seconds", "Latency.",
                                            {{"endpoint", "execute"}}, {0.01, 0.1, 1});
  latency.Observe(0.005);
  latency.Observe(0.01);  // on a bound: counted in that bucket (le is <=)
  latency.Observe(0.5);
  latency.Observe(30);
  TextWriter writer;
  exposition.WriteTo(writer);
  EXPECT_EQ(writer.text(),
            "# HELP rqlite_request_duration_seconds Latency.\n"
            "# TYPE rqlite_request_duration_seconds histogram\n"
            "rqlite_request_duration_seconds_bucket{endpoint=\"execute\",le=\"0.01\"} 2\n"
            "rqlite_request_duration_seconds_bucket{endpoint=\"execute\",le=\"0.1\"} 2\n"
            "rqlite_request_duration_seconds_bucket{endpoint=\"execute\",le=\"1\"} 3\n"
            "rqlite_request_duration_seconds_bucket{endpoint=\"execute\",le=\"+Inf\"} 4\n"
            "rqlite_request_duration_seconds_sum{endpoint=\"execute\"} 30.515\n"
            "rqlite_request_duration_seconds_count{endpoint=\"execute\"} 4\n");
}

TEST(PrometheusTest, LabelValuesAndHelpAreEscaped) {
  TextWriter writer;
  writer.Gauge("rqlite_info", "Line one\nback\\slash", {{"v", "a\"b\\c\nd"}}, 1);
  EXPECT_EQ(writer.text(),
            "# HELP rqlite_info Line one\\nback\\\\slash\n"
            "# TYPE rqlite_info gauge\n"
            "rqlite_info{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusTest, ValuesUsePrometheusFloatSyntax) {
  TextWriter writer;
  writer.Gauge("a", "h", {}, 1.5);
  writer.Gauge("b", "h", {}, 12345678901.0);
  writer.Gauge("c", "h", {}, -2);
  EXPECT_NE(writer.text().find("\na 1.5\n"), std::string::npos);
  EXPECT_NE(writer.text().find("\nb 12345678901\n"), std::string::npos);
  EXPECT_NE(writer.text().find("\nc -2\n"), std::string::npos);
}

TEST(PrometheusTest, NamesAreChecked) {
  EXPECT_TRUE(IsValidName("rqlite_raft_term"));
  EXPECT_TRUE(IsValidName("_x9"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("9lives"));
  EXPECT_FALSE(IsValidName("a-b"));
  EXPECT_FALSE(IsValidName("a b"));
}

TEST(PrometheusTest, ConcurrentObservationsAreAllCounted) {
  Exposition exposition;
  Histogram& histogram = exposition.Histogram("rqlite_h_seconds", "h");
  Counter& counter = exposition.Counter("rqlite_c_total", "c");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; i++) {
        histogram.Observe(0.001 * (i % 7));
        counter.Add();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const Histogram::Reading reading = histogram.Read();
  EXPECT_EQ(reading.count, 40000u);
  EXPECT_EQ(reading.cumulative.back(), 40000u);
  EXPECT_EQ(counter.value(), 40000);
  EXPECT_NEAR(reading.sum, 4 * 0.001 * (10000 / 7 * 21 + (0 + 1 + 2 + 3)), 1e-6);
}

TEST(PrometheusTest, GaugesAreWrittenAsGauges) {
  Exposition exposition;
  Counter& depth = exposition.Gauge("rqlite_write_queue_depth", "Queued.");
  depth.Add(5);
  depth.Add(-2);
  TextWriter writer;
  exposition.WriteTo(writer);
  EXPECT_EQ(writer.text(),
            "# HELP rqlite_write_queue_depth Queued.\n"
            "# TYPE rqlite_write_queue_depth gauge\n"
            "rqlite_write_queue_depth 3\n");
}

TEST(PrometheusTest, ResetKeepsSeriesAndTheirAddresses) {
  Exposition exposition;
  Histogram& histogram = exposition.Histogram("rqlite_h_seconds", "h");
  histogram.Observe(1);
  exposition.Reset();
  EXPECT_EQ(&histogram, &exposition.Histogram("rqlite_h_seconds", "h"));
  EXPECT_EQ(histogram.Read().count, 0u);
}

}  // namespace
}  // namespace rq::metrics
