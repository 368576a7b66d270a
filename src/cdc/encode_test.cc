#include "cdc/encode.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace rq::cdc {
namespace {

using command::Blob;
using command::RowChange;
using command::RowOp;

TEST(CdcEncodeTest, EntryInRqlitesShape) {
  RowChange insert{RowOp::kInsert, "users", 0, 7, {"name", "id", "pic", "score"}, {},
                   {std::string("fiona"), int64_t{7}, Blob{"\x01\x02"}, 2.0}, ""};
  RowChange update{RowOp::kUpdate, "users", 7, 7, {"id", "name"}, {int64_t{7}, std::string("a")},
                   {int64_t{7}, std::monostate{}}, ""};
  RowChange remove{RowOp::kDelete, "users", 7, 0, {}, {}, {}, ""};
  EXPECT_EQ(EncodeEntry(3, 1757892884812603, {insert, update, remove}),
            R"({"index":3,"commit_timestamp":1757892884812603,"events":[)"
            R"({"op":"INSERT","table":"users","new_row_id":7,"after":{"id":7,"name":"fiona","pic":"AQI=","score":2}},)"
            R"({"op":"UPDATE","table":"users","new_row_id":7,"old_row_id":7,"before":{"id":7,"name":"a"},)"
            R"("after":{"id":7,"name":null}},)"
            R"({"op":"DELETE","table":"users","old_row_id":7}]})");
}

TEST(CdcEncodeTest, MismatchedColumnsBecomeAnError) {
  RowChange odd{RowOp::kInsert, "t", 0, 1, {"a"}, {}, {int64_t{1}, int64_t{2}}, ""};
  boost::json::value v = boost::json::parse(EncodeEntry(1, 0, {odd}));
  const auto& event = v.at("events").at(0).as_object();
  EXPECT_FALSE(event.contains("after"));
  EXPECT_NE(std::string(event.at("error").as_string()).find("1 columns"), std::string::npos);
  EXPECT_FALSE(v.as_object().contains("commit_timestamp"));
}

TEST(CdcEncodeTest, EnvelopeSplicesEntries) {
  EXPECT_EQ(EncodeEnvelope("1", "", {R"({"index":1})", R"({"index":2})"}),
            R"({"node_id":"1","payload":[{"index":1},{"index":2}]})");
  EXPECT_EQ(EncodeEnvelope("n\"1", "svc", {}), R"({"service_id":"svc","node_id":"n\"1","payload":[]})");
}

}  // namespace
}  // namespace rq::cdc
