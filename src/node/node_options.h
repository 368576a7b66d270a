// How the flags (config::Config) become each part's own options: the
// store's, the write queue's, node-to-node TLS and the HTTP server's.
// Pure functions, so each translation can be tested without a node.
#pragma once

#include <string>
#include <utility>

#include "cluster/tls.h"
#include "config/config.h"
#include "http/server.h"
#include "node/otlp_exporter.h"
#include "node/store_backend.h"
#include "store/store.h"
#include "store/write_queue.h"

namespace rq::node {

// Above http::Config::max_body_bytes (64 MiB) plus framing and encoding:
// one LOAD entry may carry a whole database up to the HTTP body limit, and
// every Raft message is one frame.
inline constexpr size_t kMaxFrameBytes = size_t{96} << 20;

// host:port -> host and port; "" host means all interfaces.
std::pair<std::string, std::string> SplitHostPort(const std::string& addr);

store::StoreOptions MakeStoreOptions(const config::Config& config);
cluster::TlsOptions MakeNodeTlsOptions(const config::Config& config);
store::WriteQueueOptions MakeQueueOptions(const config::Config& config);
http::Config MakeServerConfig(const config::Config& config, const std::string& version);
NodeIdentity MakeIdentity(const config::Config& config, const std::string& version);
// -otlp-*: the exporter's options, with this node as the OTLP resource.
OtlpOptions MakeOtlpOptions(const config::Config& config, const std::string& version);

}  // namespace rq::node
