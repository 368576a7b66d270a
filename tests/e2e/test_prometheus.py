"""GET /metrics scraped by the real Prometheus server (Debian's prometheus).

A 3-node cluster of real rqlited processes, a Prometheus started by the test
on 127.0.0.1 with a scrape config for the three nodes (1 s interval), writes
through the leader, then Prometheus's HTTP API is asked for `up` and for a
rate() of the write counter. A fourth node with -auth checks that /metrics
needs the `status` permission and that Prometheus scrapes it with basic
auth. Skips, saying so, when /usr/bin/prometheus is not installed
(scripts/install-deps.sh --tests installs it).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def metric_lines(node, name):
    text = node.get("/metrics").text()
    return [line for line in text.splitlines() if line.startswith(name)]


def sample(node, series):
    """The value of one exact series line (name{labels}) of /metrics."""
    for line in node.get("/metrics").text().splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[-1])
    return None


class MetricsEndpointTest(unittest.TestCase):
    """What /metrics says, read directly (no Prometheus needed)."""

    def test_counters_follow_the_requests_and_raft_state(self):
        with harness.Node(ARGS.rqlited, node_id="1") as node:
            reply = node.get("/metrics")
            self.assertEqual(reply.status, 200)
            self.assertTrue(reply.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"))
            node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)"])
            before = sample(node, 'rqlite_http_requests_total{endpoint="/db/execute",code="200"}')
            for i in range(5):
                self.assertEqual(node.execute(["INSERT INTO foo(name) VALUES('n%d')" % i]).status, 200)
            node.get("/db/query?q=" + urllib.parse.quote("SELECT nope FROM foo"))  # 200 with an error
            node.post("/db/execute", b"not json")  # 400
            after = sample(node, 'rqlite_http_requests_total{endpoint="/db/execute",code="200"}')
            self.assertEqual(after - before, 5)
            self.assertGreaterEqual(sample(node, 'rqlite_http_requests_total{endpoint="/db/execute",code="400"}'), 1)
            self.assertGreaterEqual(sample(node, 'rqlite_http_request_duration_seconds_count{endpoint="/db/execute"}'), 6)
            status = node.get("/status").json()["store"]["raft"]
            self.assertEqual(sample(node, "rqlite_raft_term"), status["term"])
            self.assertEqual(sample(node, "rqlite_raft_leader"), 1)
            self.assertGreaterEqual(sample(node, "rqlite_raft_applied_index"), 7)
            self.assertGreaterEqual(sample(node, "rqlite_log_fsync_duration_seconds_count"), 6)
            self.assertGreater(sample(node, "process_resident_memory_bytes"), 1 << 20)
            build = metric_lines(node, "rqlite_build_info")
            self.assertEqual(len(build), 1)
            commit = node.get("/status").json()["build"]["commit"]
            self.assertIn('commit="%s"' % commit, build[0])
            # A user snapshot shows in the snapshot counter and histogram.
            self.assertIn(node.post("/snapshot").status, (200, 204))
            self.assertGreaterEqual(sample(node, 'rqlite_snapshots_total{result="ok"}'), 1)

    def test_metrics_needs_the_status_permission(self):
        auth_dir = tempfile.mkdtemp(prefix="rqe2e-auth-")
        try:
            auth_file = os.path.join(auth_dir, "auth.json")
            with open(auth_file, "w") as f:
                json.dump([{"username": "prom", "password": "pw", "perms": ["status"]},
                           {"username": "writer", "password": "w", "perms": ["execute"]},
                           {"username": "*", "perms": ["ready"]}], f)
            with harness.Node(ARGS.rqlited, node_id="1", extra_args=["-auth", auth_file]) as node:
                self.assertEqual(node.get("/metrics").status, 401)
                self.assertEqual(node.get("/metrics", headers=harness.basic_auth("writer", "w")).status, 401)
                reply = node.get("/metrics", headers=harness.basic_auth("prom", "pw"))
                self.assertEqual(reply.status, 200)
                self.assertIn("rqlite_raft_term", reply.text())
        finally:
            shutil.rmtree(auth_dir, ignore_errors=True)


@unittest.skipUnless(os.access(PROMETHEUS, os.X_OK), "prometheus not installed (scripts/install-deps.sh --tests)")
class PrometheusScrapeTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.work = tempfile.mkdtemp(prefix="rqe2e-prom-")
        self.prometheus = None

    def tearDown(self):
        if self.prometheus and self.prometheus.poll() is None:
            self.prometheus.kill()
            self.prometheus.wait(timeout=30)
        if self.prometheus:
            self.prometheus_log.close()
        for node in self.nodes:
            node.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def start_prometheus(self, targets, auth_target):
        port = harness.free_port()
        config = os.path.join(self.work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: rqlite\n    static_configs:\n      - targets: [%s]\n"
                    "  - job_name: rqlite-auth\n    basic_auth:\n      username: prom\n      password: pw\n"
                    "    static_configs:\n      - targets: ['%s']\n"
                    % (", ".join("'%s'" % t for t in targets), auth_target))
        self.prometheus_log = open(os.path.join(self.work, "prometheus.log"), "wb")
        log = self.prometheus_log
        self.prometheus = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(self.work, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT)
        return "http://127.0.0.1:%d" % port

    def prom_query(self, base, expr):
        reply = harness.http("GET", base + "/api/v1/query?query=" + urllib.parse.quote(expr), timeout=5)
        body = reply.json()
        if body.get("status") != "success":
            raise ValueError(body)
        return body["data"]["result"]

    def test_prometheus_scrapes_a_three_node_cluster(self):
        leader = harness.Node(ARGS.rqlited, node_id="1")
        self.nodes.append(leader)
        leader.start()
        for node_id in ("2", "3"):
            node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=["-join", leader.raft_addr])
            self.nodes.append(node)
            node.start()
        auth_file = os.path.join(self.work, "auth.json")
        with open(auth_file, "w") as f:
            json.dump([{"username": "prom", "password": "pw", "perms": ["status"]},
                       {"username": "*", "perms": ["ready"]}], f)
        secured = harness.Node(ARGS.rqlited, node_id="s", extra_args=["-auth", auth_file])
        self.nodes.append(secured)
        secured.start()
        base = self.start_prometheus([n.http_addr for n in self.nodes[:3]], secured.http_addr)

        def all_up():
            result = self.prom_query(base, "up")
            return len(result) == 4 and all(r["value"][1] == "1" for r in result)
        harness.wait_for(all_up, timeout=60, what="Prometheus sees all four targets up")

        self.assertEqual(leader.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)"]).status, 200)
        deadline = time.time() + 8
        writes = 0
        while time.time() < deadline:
            self.assertEqual(leader.execute(["INSERT INTO foo(v) VALUES('x')"]).status, 200)
            writes += 1
        self.assertGreater(writes, 10)

        rate_expr = 'sum(rate(rqlite_http_requests_total{job="rqlite",endpoint="/db/execute",code="200"}[10s]))'

        def write_rate_seen():
            result = self.prom_query(base, rate_expr)
            return result and float(result[0]["value"][1]) > 0.5
        harness.wait_for(write_rate_seen, timeout=30, what="a write rate in Prometheus")

        # Every node applied the writes: the applied index Prometheus holds
        # for each of the three is at least the number of writes.
        def applied_everywhere():
            result = self.prom_query(base, 'rqlite_raft_applied_index{job="rqlite"}')
            return len(result) == 3 and all(float(r["value"][1]) >= writes for r in result)
        harness.wait_for(applied_everywhere, timeout=30, what="applied index on all three nodes")
        leaders = self.prom_query(base, 'sum(rqlite_raft_leader{job="rqlite"})')
        self.assertEqual(float(leaders[0]["value"][1]), 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
