#!/usr/bin/env python3
"""How long writes wait while a node joins a leader with a large database.

A leader is filled with --mb megabytes (64 KiB random blobs) and snapshotted,
so a joining node must take the database file. A writer then sends
sequential single-row INSERTs to the leader while a node joins, until the
newcomer answers /readyz?sync. Printed: the writes' p50 and longest wait,
and any failures. --third-node first grows the cluster to two nodes, so the
measured join is 2 -> 3 (the newcomer is then not needed for a quorum).

Usage: bench/join_stall.py --rqlited build/src/cmd/rqlited [--mb 1024] [--third-node]
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import harness  # noqa: E402

SNAP = ["-raft-snap", "16", "-raft-snap-int", "1s"]
FILL = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<100) "
        "INSERT INTO t(b) SELECT randomblob(65536) FROM r")  # 6.4 MB per request


def wait_synced(node):
    harness.wait_for(lambda: node.get("/readyz?sync").status == 200, 1800, 0.2, "node synced", harness.RETRYABLE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--third-node", action="store_true")
    args = parser.parse_args()
    nodes = []

    def start(node_id, join=None):
        node = harness.Node(args.rqlited, node_id=node_id, extra_args=SNAP + (["-join", join] if join else []))
        nodes.append(node)
        node.start(wait_leader=join is None)
        return node

    try:
        leader = start("1")
        leader.execute(["CREATE TABLE t (n INTEGER PRIMARY KEY, b BLOB)", "CREATE TABLE w (v INTEGER)"])
        for _ in range(max(1, args.mb * 10 // 64)):
            r = leader.execute([FILL])
            assert r.status == 200, r.text()
        leader.post("/snapshot")
        if args.third_node:
            wait_synced(start("3", leader.raft_addr))

        latencies, failures, stop = [], [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                started = time.monotonic()
                try:
                    r = leader.execute(["INSERT INTO w VALUES(%d)" % i])
                    if r.status != 200:
                        failures.append("HTTP %d %s" % (r.status, r.text()[:120]))
                except Exception as e:  # noqa: BLE001 (a failure to report, whatever it is)
                    failures.append(repr(e)[:120])
                latencies.append(time.monotonic() - started)
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(1)
        joined = time.monotonic()
        wait_synced(start("2", leader.raft_addr))
        synced = time.monotonic() - joined
        time.sleep(1)
        stop.set()
        thread.join()
        latencies.sort()
        print("join %s: newcomer synced after %.1f s; %d writes meanwhile, p50 %.1f ms, longest %.0f ms, %d failed%s" %
              ("2 -> 3" if args.third_node else "1 -> 2", synced, len(latencies),
               latencies[len(latencies) // 2] * 1e3, latencies[-1] * 1e3, len(failures),
               (" (first: %s)" % failures[0]) if failures else ""))
    finally:
        for node in nodes:
            node.cleanup()


if __name__ == "__main__":
    main()
