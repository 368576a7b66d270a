// Internal to cluster/: conversions between plain structs and the generated
// protobuf types, shared by codec.cc and codec_rpc.cc. Same contract as
// codec.h (decoding validates, returns Corruption). Thread-safe (stateless).
#pragma once

#include <string_view>

#include "base/status.h"
#include "cluster.pb.h"
#include "command/types.h"
#include "raft/types.h"

namespace rq::cluster::detail {

Status Bad(std::string_view what);

void RaftMessageToProto(const raft::Message& in, proto::cluster::RaftMessage* out);
Result<raft::Message> RaftMessageFromProto(const proto::cluster::RaftMessage& in);

void ResponseToProto(const command::Response& in, proto::cluster::Response* out);
Result<command::Response> ResponseFromProto(const proto::cluster::Response& in);

}  // namespace rq::cluster::detail
