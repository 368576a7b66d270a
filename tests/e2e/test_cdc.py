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
import ssl
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

    def __init__(self, fail_every=0, tls_context=None, refuse_all=False, hang=0):
        receiver = self
        self.refuse_all = refuse_all
        self.hang = hang
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
                if receiver.hang:
                    time.sleep(receiver.hang)
                with receiver.lock:
                    refuse = receiver.refuse_all or (receiver.fail_every and
                                                     receiver.requests % receiver.fail_every == 0)
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
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d/cdc" % ("https" if tls_context else "http", self.server.server_address[1])
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
        sent = sum(len(indexes) for indexes in by_sender.values())
        distinct = len(set(i for indexes in by_sender.values() for i in indexes))
        print("cdc: %d committed rows (%d acknowledged of %d attempted), all delivered; %d envelopes accepted, "
              "%d refused with 500; %d entries sent, %d distinct (%d sent again by the new leader)" %
              (len(committed), len(acknowledged), len(attempted), len(envelopes), self.receiver.refused, sent,
               distinct, sent - distinct))

    def test_queued_events_survive_kill_9_after_snapshots_truncated_the_log(self):
        # The receiver refuses everything while the node is written to and
        # snapshots compact its log; the node is then killed -9. Events of
        # entries the log no longer holds come from the durable queue.
        self.receiver = Receiver(refuse_all=True)
        config = self.write_config("cdc.json", {"endpoint": self.receiver.url, "max_batch_delay": "10ms",
                                                "transmit_min_backoff": "20ms", "transmit_max_backoff": "50ms"})
        node = self.node("1", ["-cdc-config", config, "-raft-snap", "16", "-raft-snap-int", "200ms"])
        node.start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)"])
        for i in range(80):
            self.assertEqual(node.execute([["INSERT INTO foo(name) VALUES(?)", "row-%d" % i]]).status, 200)
        harness.wait_for(lambda: node.get("/debug/vars").json()["store"]["num_snapshots"] >= 2, timeout=30,
                         what="snapshots taken")
        queued = node.get("/status").json()["cdc"]["fifo"]["length"]
        self.assertGreaterEqual(queued, 80)
        self.assertEqual(self.receiver.envelopes(), [])
        node.kill()
        self.receiver.refuse_all = False
        node.start()
        expected = {"row-%d" % i for i in range(80)}
        harness.wait_for(lambda: self.receiver.inserted_names() == expected, timeout=30,
                         what="every row delivered after the restart")
        indexes = [entry["index"] for envelope in self.receiver.envelopes() for entry in envelope["payload"]]
        self.assertEqual(indexes, sorted(set(indexes)), "each entry once, in order")

    def test_https_sink_with_ca_and_server_name(self):
        certs = os.path.join(self.work, "certs")
        os.makedirs(certs)

        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=certs, check=True, capture_output=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-subj", "/CN=cdc-test-ca", "-days", "2")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "hook.key", "-out", "hook.csr",
                "-subj", "/CN=hook.test")
        with open(os.path.join(certs, "san.ext"), "w") as f:
            f.write("subjectAltName=DNS:hook.test\n")
        openssl("x509", "-req", "-in", "hook.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "hook.pem", "-days", "2", "-extfile", "san.ext")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(certs, "hook.pem"), os.path.join(certs, "hook.key"))
        self.receiver = Receiver(tls_context=context)
        # The certificate names hook.test, the URL an address: server_name
        # bridges them, as Go's tls.Config.ServerName does.
        config = self.write_config("tls.json", {
            "endpoint": self.receiver.url, "max_batch_delay": "10ms",
            "tls": {"ca_cert_file": os.path.join(certs, "ca.pem"), "server_name": "hook.test"}})
        node = self.node("1", ["-cdc-config", config])
        node.start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO foo(name) VALUES('tls')"])
        harness.wait_for(lambda: self.receiver.inserted_names() == {"tls"}, timeout=20, what="delivery over TLS")
        node.cleanup()
        self.nodes.remove(node)
        # Without server_name the address does not match the certificate.
        self.receiver.accepted.clear()
        config = self.write_config("tls-no-name.json", {
            "endpoint": self.receiver.url, "max_batch_delay": "10ms", "transmit_min_backoff": "50ms",
            "transmit_max_backoff": "50ms", "tls": {"ca_cert_file": os.path.join(certs, "ca.pem")}})
        node = self.node("2", ["-cdc-config", config])
        node.start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO foo(name) VALUES('x')"])
        harness.wait_for(lambda: node.get("/debug/vars").json()["cdc.service"]["num_events_tx_failed"] >= 2,
                         timeout=20, what="failed TLS sends counted")
        self.assertEqual(self.receiver.envelopes(), [])

    def test_a_hanging_endpoint_does_not_hold_up_shutdown(self):
        self.receiver = Receiver(hang=30)
        config = self.write_config("hang.json", {"endpoint": self.receiver.url, "max_batch_delay": "10ms",
                                                 "transmit_timeout": "20s"})
        node = self.node("1", ["-cdc-config", config])
        node.start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY)", "INSERT INTO foo VALUES(1)"])
        harness.wait_for(lambda: self.receiver.requests > 0, timeout=10, what="a send in flight")
        started = time.time()
        node.stop()
        self.assertEqual(node.proc.returncode, 0, node.read_log())
        self.assertLess(time.time() - started, 10, "shutdown waited for the endpoint")

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
