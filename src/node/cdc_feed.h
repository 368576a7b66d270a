// -cdc-config wired to the store: the rows the apply thread captures go to
// cdc::Service (src/cdc/), which queues them under <data-dir>/cdc and, on
// the leader, sends them to the configured sink; the sink here is stdout or
// an HTTP(S) endpoint over libcurl (src/backup/http_client.h), with the
// config's TLS settings.
//
// Lifetime: built before the store opens (the store holds it as its
// ChangeListener) and destroyed after the store; Start once the store runs,
// Stop before the store stops.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "base/status.h"
#include "cdc/service.h"
#include "store/store.h"

namespace rq::node {

class CdcFeed final : public store::ChangeListener {
 public:
  // `flag` is the -cdc-config value; an error names what is wrong with it.
  static Result<std::unique_ptr<CdcFeed>> Create(const std::string& flag, const std::string& node_id,
                                                 const std::string& data_dir);
  ~CdcFeed() override;

  // What the store's apply connection captures.
  db::ChangeCaptureOptions capture_options() const;
  void Start(store::Store* store);
  void Stop();
  // /status "cdc".
  boost::json::value StatusJson() const;

  Status OnChanges(LogIndex index, std::vector<command::RowChange> rows) override;
  void OnHighWaterMark(LogIndex index) override;
  Status BeforeSnapshot(LogIndex index) override;

 private:
  CdcFeed() = default;
  std::atomic<store::Store*> store_{nullptr};
  cdc::TableMatcher table_matcher_;
  std::unique_ptr<cdc::Service> service_;
};

// The HTTP(S) sink: POSTs each envelope as application/json; only 200 and
// 202 count as delivered, as rqlite's sink counts them.
std::unique_ptr<cdc::Sink> MakeHttpSink(const cdc::Config& config);

}  // namespace rq::node
