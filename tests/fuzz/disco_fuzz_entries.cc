#include "disco_fuzz_entries.h"

#include <string>
#include <string_view>

#include "base/assert.h"
#include "disco/kv_client.h"

namespace rq::fuzz {

void FuzzDiscoAnswer(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const uint8_t selector = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr int kStatuses[] = {200, 404, 500, 403};
  const int status = kStatuses[(selector >> 3) % 4];
  switch (selector % 6) {
    case 0:
      (void)disco::ParseConsulGet(status, body);
      break;
    case 1:
      (void)disco::ParseConsulPut(status, body);
      break;
    case 2:
      (void)disco::ParseEtcdRange(body);
      break;
    case 3:
      (void)disco::ParseEtcdTxn(body);
      break;
    case 4: {
      Result<disco::LeaderRecord> record = disco::DecodeLeaderRecord(body);
      if (!record.ok()) return;
      RQ_ASSERT(!record->addr.empty());
      Result<disco::LeaderRecord> again = disco::DecodeLeaderRecord(disco::EncodeLeaderRecord(*record));
      RQ_ASSERT(again.ok());
      RQ_ASSERT(*again == *record);
      break;
    }
    default: {
      Result<disco::HttpEndpoint> endpoint = disco::ParseEndpoint(body, "2379");
      if (!endpoint.ok()) return;
      RQ_ASSERT(!endpoint->host.empty());
      RQ_ASSERT(!endpoint->port.empty());
      RQ_ASSERT(endpoint->port.find_first_not_of("0123456789") == std::string::npos);
      break;
    }
  }
}

}  // namespace rq::fuzz
