"""OTLP metrics push (-otlp-endpoint, -otlp-interval, -otlp-insecure): a real
rqlited pushes to otlp_receiver (a gRPC server implementing OpenTelemetry's
MetricsService, printing each request as JSON), and a collector that is
down does not slow the node: writes go on, and the pushes arrive once the
collector is up.
"""
import argparse
import json
import os
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
    def __init__(self, port):
        self.port = port
        self.requests = []
        self.lock = threading.Lock()
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([ARGS.receiver, str(port)], stdout=subprocess.PIPE, stderr=self.err,
                                     text=True)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.requests.append(json.loads(line))

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        self.proc.stdout.close()
        self.err.close()

    def metric(self, name):
        """The data points of `name` in the newest request that has it."""
        with self.lock:
            requests = list(self.requests)
        for request in reversed(requests):
            for resource in request.get("resource_metrics", []):
                for scope in resource.get("scope_metrics", []):
                    for metric in scope.get("metrics", []):
                        if metric["name"] == name:
                            data = metric.get("sum") or metric.get("gauge") or metric.get("histogram")
                            return resource, metric, data.get("data_points", [])
        return None


def attribute(points, key, value):
    for point in points:
        if any(a["key"] == key and a["value"].get("string_value") == value for a in point.get("attributes", [])):
            return point
    return None


class OtlpTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for cleanup in reversed(self.cleanups):
            cleanup()

    def node(self, collector_port):
        node = harness.Node(ARGS.rqlited, node_id="otlp-1", extra_args=[
            "-otlp-endpoint", "127.0.0.1:%d" % collector_port, "-otlp-insecure", "-otlp-interval", "500ms"])
        self.cleanups.append(node.cleanup)
        return node

    def receiver(self, port):
        receiver = Receiver(port)
        self.cleanups.append(receiver.stop)
        return receiver

    def test_pushes_the_nodes_metrics_to_the_collector(self):
        port = harness.free_port()
        receiver = self.receiver(port)
        node = self.node(port).start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)"])
        for i in range(10):
            self.assertEqual(node.execute(["INSERT INTO foo(v) VALUES('%d')" % i]).status, 200)

        def writes_arrived():
            found = receiver.metric("rqlite_http_requests_total")
            if not found:
                return False
            point = attribute(found[2], "endpoint", "/db/execute")
            return point is not None and point.get("as_double", 0) >= 11
        harness.wait_for(writes_arrived, timeout=30, what="the write counter at the collector")
        resource, metric, _ = receiver.metric("rqlite_http_requests_total")
        self.assertTrue(metric["sum"]["is_monotonic"])
        attributes = {a["key"]: a["value"]["string_value"] for a in resource["resource"]["attributes"]}
        self.assertEqual(attributes["service.name"], "rqlite")
        self.assertEqual(attributes["service.instance.id"], "otlp-1")
        _, term_metric, term_points = receiver.metric("rqlite_raft_term")
        self.assertIn("gauge", term_metric)
        self.assertEqual(term_points[0]["as_double"], node.get("/status").json()["store"]["raft"]["term"])
        _, latency, latency_points = receiver.metric("rqlite_http_request_duration_seconds")
        self.assertEqual(latency["unit"], "s")
        execute = attribute(latency_points, "endpoint", "/db/execute")
        self.assertGreaterEqual(int(execute["count"]), 11)
        self.assertEqual(len(execute["bucket_counts"]), len(execute["explicit_bounds"]) + 1)
        ok = attribute(receiver.metric("rqlite_otlp_exports_total")[2], "result", "ok")
        self.assertIsNotNone(ok)

    def test_a_collector_that_is_down_does_not_slow_the_node(self):
        port = harness.free_port()
        node = self.node(port).start()
        node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)"])
        started = time.time()
        for i in range(20):
            self.assertEqual(node.execute(["INSERT INTO foo(v) VALUES('%d')" % i]).status, 200)
            time.sleep(0.05)
        # Several export intervals passed with nobody listening.
        self.assertLess(time.time() - started, 10)
        text = node.get("/metrics").text()
        failed = [line for line in text.splitlines()
                  if line.startswith('rqlite_otlp_exports_total{result="failed"}')]
        self.assertTrue(failed and float(failed[0].split()[-1]) >= 1, text[-2000:])
        receiver = self.receiver(port)
        harness.wait_for(lambda: receiver.metric("rqlite_raft_term") is not None, timeout=30,
                         what="pushes once the collector is up")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--receiver", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
