"""-cdc-config end to end: a real HTTP receiver (Python's http.server, in this
process) takes the events a 3-node cluster sends while it is written to,
answers 500 to every third request, and sees the leader killed with
SIGKILL mid-stream. At the end every committed row was delivered at least
once, each sender's accepted stream is in Raft-index order, and no row was
delivered that the cluster did not commit. Also: the stdout sink, the table
filter with row_ids_only, and the refusals (a non-voter, a bad config file).
"""
import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None


class Receiver:
    """Records every envelope it accepts; refuses every `fail_every`-th POST."""

    def __init__(self, fail_every=0):
        receiver = self
        self.lock = threading.Lock()
        self.accepted = []  # parsed envelopes, in arrival order
        self.requests = 0
        self.refused = 0
        self.fail_every = fail_every

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests += 1
                    refuse = receiver.fail_every and receiver.requests % receiver.fail_every == 0
                    if refuse:
                        receiver.refused += 1
                    else:
                        receiver.accepted.append((self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/cdc" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def envelopes(self):
        with self.lock:
            return [envelope for _, envelope in self.accepted]

    def inserted_names(self):
        names = set()
        for envelope in self.envelopes():
            for entry in envelope["payload"]:
                for event in entry["events"]:
                    if event["op"] == "INSERT" and event["table"] == "foo":
                        names.add(event["after"]["name"])
        return names


class CdcTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-cdc-")
        self.nodes = []
        self.receiver = None

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        if self.receiver:
            self.receiver.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def write_config(self, name, config):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def node(self, node_id, extra):
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra)
        self.nodes.append(node)
        return node

    def test_three_nodes_deliver_every_committed_row_through_leader_kill_and_500s(self):
        self.receiver = Receiver(fail_every=3)
        config = self.write_config("cdc.json", {
            "endpoint": self.receiver.url, "service_id": "e2e", "max_batch_size": 5,
            "max_batch_delay": "20ms", "high_watermark_interval": "200ms",
            "transmit_min_backoff": "50ms", "transmit_max_backoff": "200ms",
            "transmit_retry_policy": "ExponentialRetryPolicy", "transmit_timeout": "2s"})
        cdc = ["-cdc-config", config, "-raft-election-timeout", "500ms"]
        first = self.node("1", cdc).start()
        for node_id in ("2", "3"):
            self.node(node_id, cdc + ["-join", first.raft_addr]).start()
        self.assertEqual(first.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)"]).status, 200)

        acknowledged = set()
        attempted = []

        def write(count, prefix):
            for i in range(count):
                name = "%s-%d" % (prefix, i)
                attempted.append(name)
                leader = harness.leader_of(self.nodes)
                if leader is None:
                    time.sleep(0.1)
                    continue
                try:
                    r = leader.execute([["INSERT INTO foo(name) VALUES(?)", name]])
                    if r.status == 200 and "error" not in r.json()["results"][0]:
                        acknowledged.add(name)
                except OSError:
                    pass  # the leader died under us: outcome unknown

        write(60, "before")
        old_leader = harness.leader_of(self.nodes)
        # Some of those are on the wire or queued when the leader dies.
        writer = threading.Thread(target=write, args=(40, "during"))
        writer.start()
        time.sleep(0.3)
        old_leader.kill()
        writer.join()
        survivors = [n for n in self.nodes if n is not old_leader]
        harness.wait_for(lambda: harness.leader_of(survivors), timeout=30, what="a new leader")
        write(60, "after")
        new_leader = harness.leader_of(survivors)

        rows = new_leader.query(["SELECT name FROM foo"], "?level=strong").json()["results"][0].get("values", [])
        committed = {row[0] for row in rows}
        self.assertTrue(acknowledged <= committed, "acknowledged writes missing: %s" % (acknowledged - committed))
        harness.wait_for(lambda: committed <= self.receiver.inserted_names(), timeout=60,
                         what="every committed row delivered (missing %s)" %
                         sorted(committed - self.receiver.inserted_names())[:5])
        delivered = self.receiver.inserted_names()
        self.assertEqual(delivered - committed, set(), "delivered rows that were never committed")

        envelopes = self.receiver.envelopes()
        self.assertGreater(self.receiver.refused, 0, "the receiver refused some requests")
        by_sender = {}
        index_of_name = {}
        for envelope in envelopes:
            self.assertEqual(envelope["service_id"], "e2e")
            self.assertLessEqual(len(envelope["payload"]), 5)
            indexes = by_sender.setdefault(envelope["node_id"], [])
            for entry in envelope["payload"]:
                indexes.append(entry["index"])
                for event in entry["events"]:
                    if event["op"] == "INSERT":
                        name = event["after"]["name"]
                        # A row redelivered by the next leader keeps its index.
                        self.assertEqual(index_of_name.setdefault(name, entry["index"]), entry["index"], name)
        for sender, indexes in by_sender.items():
            self.assertEqual(indexes, sorted(set(indexes)), "node %s sent out of order or twice" % sender)
        self.assertIn(old_leader.node_id, by_sender)
        self.assertIn(new_leader.node_id, by_sender)
        content_types = {ctype for ctype, _ in self.receiver.accepted}
        self.assertEqual(content_types, {"application/json"})

        # The mark is replicated: the survivors agree on it and prune to it.
        def marks():
            return [n.get("/status").json()["cdc"]["highwater_mark"] for n in survivors]
        harness.wait_for(lambda: len(set(marks())) == 1 and marks()[0] >= max(by_sender[new_leader.node_id]),
                         timeout=30, what="the survivors' high-water marks agree")
        status = new_leader.get("/status").json()["cdc"]
        self.assertTrue(status["is_leader"])
        self.assertEqual(status["sink"], self.receiver.url)
        self.assertEqual(status["fifo"]["length"], 0)
        counters = new_leader.get("/debug/vars").json()["cdc.service"]
        self.assertGreater(counters["num_events_tx_ok"], 0)

    def test_stdout_sink_table_filter_and_row_ids_only(self):
        config = self.write_config("filter.json", {"endpoint": "stdout", "table_filter": "^keep$",
                                                   "row_ids_only": True, "max_batch_delay": "10ms"})
        node = self.node("1", ["-cdc-config", config])
        node.start()
        node.execute(["CREATE TABLE keep (id INTEGER PRIMARY KEY, v TEXT)", "CREATE TABLE skip (v TEXT)",
                      "INSERT INTO skip VALUES('no')", "INSERT INTO keep VALUES(7, 'secret')",
                      "DELETE FROM keep WHERE id = 7"])

        def events():
            with open(node.log_path, "rb") as f:
                lines = [line for line in f.read().decode().splitlines() if line.startswith('{"node_id"')]
            return [event for line in lines for entry in json.loads(line)["payload"] for event in entry["events"]]
        harness.wait_for(lambda: len(events()) == 2, timeout=20, what="two events on stdout")
        self.assertEqual(events(), [{"op": "INSERT", "table": "keep", "new_row_id": 7},
                                    {"op": "DELETE", "table": "keep", "old_row_id": 7}])

    def test_refusals_name_the_problem(self):
        bad = self.write_config("bad.json", {"endpoint": "kafka://broker:9092"})
        cases = [
            (["-cdc-config", bad], "unsupported scheme"),
            (["-cdc-config", "stdout", "-raft-non-voter"], "non-voting node"),
            (["-cdc-config", os.path.join(self.work, "missing.json")], "missing.json"),
        ]
        for extra, want in cases:
            data = tempfile.mkdtemp(prefix="data-", dir=self.work)
            ran = subprocess.run([ARGS.rqlited, "-node-id", "1", "-http-addr", "127.0.0.1:%d" % harness.free_port(),
                                  "-raft-addr", "127.0.0.1:%d" % harness.free_port(), *extra, data],
                                 capture_output=True, text=True, timeout=30)
            self.assertNotEqual(ran.returncode, 0, extra)
            self.assertIn(want, ran.stderr, extra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
