// node: one rqlited node assembled from its parts. Node owns the store, the
// cluster transport (Raft address) and client, the HTTP server with the
// store behind http::Backend, discovery, the write queue and the reaper;
// it starts them in dependency order, forms or joins the cluster as the
// flags say, and stops them in reverse order so every acknowledged write is
// already durable. Bootstrap, join and KV formation live beside it.
//
// Threads: Start, WaitForSignal and Shutdown run on main's thread, in that
// order; the parts run their own threads (see the README's threads table).
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace rq::node {

class Node {
 public:
  // `version` is what /status, the cluster's join answers and the HTTP
  // server report (rqlite's "v10.x.y" slot).
  Node(config::Config config, std::string version);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Opens the store, starts every part and forms or joins the cluster. On
  // failure everything started is stopped again and the status's message
  // names the step ("failed to open store: ...").
  Status Start();

  // Blocks until SIGINT or SIGTERM and returns the signal. REQUIRES: both
  // are blocked in every thread (rqlited's main does it before anything
  // starts). A signal that arrived while the node was forming is returned
  // at once.
  int WaitForSignal();

  // Steps down and leaves the cluster as -raft-shutdown-stepdown and
  // -raft-cluster-remove-shutdown say, then stops every part. Idempotent.
  void Shutdown();

 private:
  struct Parts;
  Status PrepareDataDirectory();
  Status StartParts();
  Status FormCluster();
  void StopParts();

  const config::Config config_;
  const std::string version_;
  std::unique_ptr<Parts> parts_;
  int early_signal_ = 0;
  bool stopped_ = false;
};

}  // namespace rq::node
