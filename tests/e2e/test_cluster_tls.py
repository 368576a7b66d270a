"""End-to-end node-to-node TLS: real rqlited processes whose Raft ports speak
TLS (-node-cert, -node-key, -node-ca-cert, mutual TLS with
-node-verify-client), certificates made with the openssl CLI.

Covers: a 3-node TLS cluster (join, writes on the leader, reads on
followers at level none, forwarded writes naming the leader's Raft address
in X-RQLITE-SERVED-BY), a node catching up by a compressed snapshot over
TLS (-compress-snap-transport), and a node without TLS failing to join a
TLS cluster with a clear error.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
wait_for = harness.wait_for
CERTS = None


def sh(directory, command):
    subprocess.run(command, shell=True, cwd=directory, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs():
    """A CA and one node certificate valid for 127.0.0.1 and localhost."""
    d = tempfile.mkdtemp(prefix="rqe2e-tls-")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    sh(d, "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj /CN=test-ca -days 2 -out ca.pem")
    sh(d, "openssl req -newkey rsa:2048 -nodes -keyout node.key -subj /CN=rqlite-node -out node.csr")
    sh(d, "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
          "-extfile san.ext -out node.pem")
    return d


def rows(node, sql, level="none"):
    r = node.query([sql], "?level=" + level)
    assert r.status == 200, r.text()
    return r.json()["results"][0].get("values", [])


def served_by(r):
    """X-RQLITE-SERVED-BY, whatever case the server wrote it in."""
    return {k.lower(): v for k, v in r.headers.items()}.get("x-rqlite-served-by")


def tls_args(verify_client=True):
    args = ["-node-cert", os.path.join(CERTS, "node.pem"), "-node-key", os.path.join(CERTS, "node.key"),
            "-node-ca-cert", os.path.join(CERTS, "ca.pem")]
    if verify_client:
        args.append("-node-verify-client")
    return args


class ClusterTlsTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()

    def start(self, node_id, join=None, extra=None, wait_leader=True):
        args = list(extra or [])
        if join:
            args += ["-join", join]
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=args)
        self.nodes.append(node)
        node.start(wait_leader=wait_leader)
        return node

    def test_tls_cluster_replicates_forwards_and_serves_reads(self):
        n1 = self.start("1", extra=tls_args())
        n2 = self.start("2", join=n1.raft_addr, extra=tls_args())
        n3 = self.start("3", join=n1.raft_addr, extra=tls_args())
        r = n1.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"])
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(served_by(r), n1.http_addr)
        for n in (n2, n3):
            wait_for(lambda n=n: rows(n, "SELECT v FROM t") == [[1]], what="replication to " + n.node_id)
        # A follower forwards to the leader over TLS; the answer names the leader.
        r = n3.execute(["INSERT INTO t VALUES(2)"])
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(served_by(r), n1.raft_addr)
        r = n2.query(["SELECT COUNT(*) FROM t"], "?level=strong")
        self.assertEqual(r.json()["results"][0]["values"], [[2]], r.text())
        self.assertEqual(served_by(r), n1.raft_addr)
        r = n2.query(["SELECT COUNT(*) FROM t"], "?level=none")
        self.assertEqual(served_by(r), n2.http_addr)
        nodes = n1.get("/nodes?ver=2").json()["nodes"]
        self.assertEqual(sorted(x["id"] for x in nodes), ["1", "2", "3"])
        self.assertTrue(all(x["reachable"] for x in nodes), nodes)

    def test_advertised_addresses_over_tls_survive_a_leader_stop(self):
        # Bound on every interface, advertised by name: what containers do.
        def adv(node_id, join=None):
            http_port, raft_port = harness.free_port(), harness.free_port()
            extra = tls_args() + ["-http-addr", "0.0.0.0:%d" % http_port, "-http-adv-addr", "localhost:%d" % http_port,
                                  "-raft-addr", "0.0.0.0:%d" % raft_port, "-raft-adv-addr", "localhost:%d" % raft_port]
            if join:
                extra += ["-join", join]
            node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra, http_port=http_port,
                                raft_port=raft_port)
            node.args = lambda node=node: [node.binary, "-node-id", node.node_id, *node.extra_args, node.data_dir]
            self.nodes.append(node)
            return node.start()
        n1 = adv("1")
        join = "localhost:%d" % n1.raft_port
        n2, n3 = adv("2", join), adv("3", join)
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        for stop in ("graceful", "kill"):
            leader = harness.leader_of(self.nodes)
            others = [n for n in self.nodes if n is not leader]
            if stop == "graceful":
                leader.stop()
            else:
                leader.kill()

            def agreed(stopped=leader.node_id):
                ids = {n.get("/status").json()["store"]["leader"]["node_id"] for n in others}
                return len(ids) == 1 and not ids & {"", stopped} and harness.leader_of(others) is not None
            try:
                wait_for(agreed, timeout=20, what="a leader both others name after a %s stop" % stop)
            except AssertionError:
                raise AssertionError("\n".join(n.read_log()[-2500:] for n in others))
            new_leader = harness.leader_of(others)
            self.assertEqual(new_leader.execute(["INSERT INTO t VALUES(1)"]).status, 200)
            leader.start()
            wait_for(lambda: leader.get("/readyz").status == 200, what="the old leader back")

    def test_joining_node_catches_up_by_compressed_snapshot_over_tls(self):
        snap = ["-raft-snap", "20", "-raft-snap-int", "100ms", "-compress-snap-transport"]
        n1 = self.start("1", extra=tls_args() + snap)
        n1.execute(["CREATE TABLE t (v TEXT)"])
        for i in range(100):
            self.assertEqual(n1.execute([["INSERT INTO t VALUES(?)", "row %d " % i + "x" * 200]]).status, 200)
        wait_for(lambda: n1.get("/status?key=store.raft.last_snapshot_index").json() > 50, what="snapshots")
        n2 = self.start("2", join=n1.raft_addr, extra=tls_args() + ["-compress-snap-transport"])
        wait_for(lambda: rows(n2, "SELECT COUNT(*) FROM t") == [[100]], timeout=30, what="catch-up")
        self.assertIn("sent snapshot", n1.read_log())

    def test_node_without_tls_cannot_join_a_tls_cluster(self):
        n1 = self.start("1", extra=tls_args(verify_client=False))
        plain = harness.Node(ARGS.rqlited, node_id="2",
                             extra_args=["-join", n1.raft_addr, "-join-attempts", "2", "-join-interval", "200ms"])
        self.nodes.append(plain)
        plain.log = open(plain.log_path, "ab")
        plain.proc = subprocess.Popen(plain.args(), stdout=plain.log, stderr=subprocess.STDOUT)
        self.assertNotEqual(plain.proc.wait(timeout=60), 0)
        log = plain.read_log()
        self.assertIn("failed to join cluster", log)
        self.assertIn("TLS", log)
        # The TLS node says why it closed the connection.
        wait_for(lambda: "TLS handshake failed" in n1.read_log(), what="server-side TLS error")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    CERTS = make_certs()
    try:
        harness.run_tests([sys.argv[0]] + rest)
    finally:
        shutil.rmtree(CERTS, ignore_errors=True)
