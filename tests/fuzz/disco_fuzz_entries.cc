#include "disco_fuzz_entries.h"

#include <string>
#include <string_view>

#include "base/assert.h"
#include "cmd/disco_kv.h"

namespace rq::fuzz {

void FuzzDiscoAnswer(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const uint8_t selector = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr int kStatuses[] = {200, 404, 500, 403};
  const int status = kStatuses[(selector >> 3) % 4];
  switch (selector % 6) {
    case 0:
      (void)cmd::ParseConsulGet(status, body);
      break;
    case 1:
      (void)cmd::ParseConsulPut(status, body);
      break;
    case 2:
      (void)cmd::ParseEtcdRange(body);
      break;
    case 3:
      (void)cmd::ParseEtcdTxn(body);
      break;
    case 4: {
      Result<cmd::LeaderRecord> record = cmd::DecodeLeaderRecord(body);
      if (!record.ok()) return;
      RQ_ASSERT(!record->addr.empty());
      Result<cmd::LeaderRecord> again = cmd::DecodeLeaderRecord(cmd::EncodeLeaderRecord(*record));
      RQ_ASSERT(again.ok());
      RQ_ASSERT(*again == *record);
      break;
    }
    default: {
      Result<cmd::HttpEndpoint> endpoint = cmd::ParseEndpoint(body, "2379");
      if (!endpoint.ok()) return;
      RQ_ASSERT(!endpoint->host.empty());
      RQ_ASSERT(!endpoint->port.empty());
      RQ_ASSERT(endpoint->port.find_first_not_of("0123456789") == std::string::npos);
      break;
    }
  }
}

}  // namespace rq::fuzz
