"""End-to-end credentials between nodes: real rqlited processes with -auth
files, -join-as, and forwarded requests checked on both nodes (API.md 4.4,
4.9).

The leader's file and the followers' file differ on purpose: "mallory" may
execute on the followers but not on the leader, so a write the follower
allows and forwards is still refused by the leader (HTTP 401).
"""
import argparse
import base64
import json
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


def users(mallory_perms):
    return [
        {"username": "admin", "password": "secret", "perms": ["all"]},
        {"username": "writer", "password": "w-pass", "perms": ["execute", "query"]},
        {"username": "mallory", "password": "m-pass", "perms": mallory_perms},
        {"username": "joiner", "password": "j-pass", "perms": ["join"]},
        {"username": "replica", "password": "r-pass", "perms": ["join-read-only"]},
        {"username": "nojoin", "password": "n-pass", "perms": ["query"]},
        {"username": "*", "perms": ["ready", "status"]},
    ]


def auth(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def served_by(r):
    return {k.lower(): v for k, v in r.headers.items()}.get("x-rqlite-served-by")


class ClusterAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rqe2e-auth-")
        cls.leader_auth = os.path.join(cls.dir, "leader.json")
        cls.follower_auth = os.path.join(cls.dir, "follower.json")
        with open(cls.leader_auth, "w") as f:
            json.dump(users(["query"]), f)
        with open(cls.follower_auth, "w") as f:
            json.dump(users(["execute", "query", "leader-ops", "remove", "backup"]), f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()

    def start(self, node_id, extra, wait_leader=True):
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra)
        self.nodes.append(node)
        node.start(wait_leader=wait_leader)
        return node

    def run_to_exit(self, node_id, extra):
        """Starts a node expected to fail; returns (exit code, log)."""
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra)
        self.nodes.append(node)
        node.log = open(node.log_path, "ab")
        node.proc = subprocess.Popen(node.args(), stdout=node.log, stderr=subprocess.STDOUT)
        code = node.proc.wait(timeout=60)
        return code, node.read_log()

    def cluster(self):
        n1 = self.start("1", ["-auth", self.leader_auth])
        n2 = self.start("2", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "joiner"])
        r = harness.http("POST", n1.url + "/db/execute", ["CREATE TABLE t (v INTEGER)"],
                         headers=auth("admin", "secret"))
        self.assertEqual(r.status, 200, r.text())
        return n1, n2

    def test_forwarded_write_with_valid_credentials_runs_on_the_leader(self):
        n1, n2 = self.cluster()
        r = harness.http("POST", n2.url + "/db/execute", ["INSERT INTO t VALUES(1)"], headers=auth("writer", "w-pass"))
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.json()["results"][0]["rows_affected"], 1)
        self.assertEqual(served_by(r), n1.raft_addr)
        r = harness.http("POST", n2.url + "/db/query?level=strong", ["SELECT COUNT(*) FROM t"],
                         headers=auth("writer", "w-pass"))
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.json()["results"][0]["values"], [[1]])
        self.assertEqual(served_by(r), n1.raft_addr)

    def test_follower_refuses_missing_or_wrong_credentials_itself(self):
        n1, n2 = self.cluster()
        self.assertEqual(harness.http("POST", n2.url + "/db/execute", ["INSERT INTO t VALUES(2)"]).status, 401)
        r = harness.http("POST", n2.url + "/db/execute", ["INSERT INTO t VALUES(2)"], headers=auth("writer", "bad"))
        self.assertEqual(r.status, 401)

    def test_leader_refuses_a_forwarded_write_the_follower_allowed(self):
        n1, n2 = self.cluster()
        r = harness.http("POST", n2.url + "/db/execute", ["INSERT INTO t VALUES(3)"], headers=auth("mallory", "m-pass"))
        self.assertEqual(r.status, 401, r.text())
        # Nothing was written; mallory may still read locally on the follower.
        r = harness.http("POST", n1.url + "/db/query", ["SELECT COUNT(*) FROM t"], headers=auth("admin", "secret"))
        self.assertEqual(r.json()["results"][0]["values"], [[0]])
        r = harness.http("POST", n2.url + "/db/query?level=none", ["SELECT COUNT(*) FROM t"],
                         headers=auth("mallory", "m-pass"))
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(served_by(r), n2.http_addr)

    def test_leader_checks_the_credentials_of_a_backup_asked_of_a_follower(self):
        n1, n2 = self.cluster()
        # mallory holds backup on the follower only; the leader makes it.
        r = harness.http("GET", n2.url + "/db/backup", headers=auth("mallory", "m-pass"))
        self.assertEqual(r.status, 401, r.text())
        r = harness.http("GET", n2.url + "/db/backup", headers=auth("admin", "secret"))
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.body[:16], b"SQLite format 3\x00")

    def test_leader_checks_forwarded_stepdown_and_remove_credentials(self):
        n1, n2 = self.cluster()
        n3 = self.start("3", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "joiner"])
        # mallory holds leader-ops and remove on the followers only.
        r = harness.http("POST", n2.url + "/leader", headers=auth("mallory", "m-pass"))
        self.assertEqual(r.status, 401, r.text())
        r = harness.http("DELETE", n2.url + "/remove", {"id": "3"}, headers=auth("mallory", "m-pass"))
        self.assertEqual(r.status, 401, r.text())
        r = harness.http("GET", n1.url + "/nodes?ver=2", headers=auth("admin", "secret"))
        self.assertEqual(len(r.json()["nodes"]), 3)
        r = harness.http("DELETE", n2.url + "/remove", {"id": "3"}, headers=auth("admin", "secret"))
        self.assertEqual(r.status, 200, r.text())
        wait_for(lambda: len(harness.http("GET", n1.url + "/nodes?ver=2",
                                          headers=auth("admin", "secret")).json()["nodes"]) == 2, what="removal")
        n3.kill()

    def test_remove_on_shutdown_uses_the_join_as_user(self):
        n1, _ = self.cluster()
        n3 = self.start("3", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "admin",
                              "-raft-cluster-remove-shutdown"])
        nodes = lambda: harness.http("GET", n1.url + "/nodes?ver=2", headers=auth("admin", "secret")).json()["nodes"]
        self.assertEqual(len(nodes()), 3)
        n3.stop()
        wait_for(lambda: sorted(x["id"] for x in nodes()) == ["1", "2"], what="self-removal on shutdown")

    def test_join_as_a_user_without_join_is_refused(self):
        n1, _ = self.cluster()
        code, log = self.run_to_exit("3", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "nojoin",
                                           "-join-attempts", "3", "-join-interval", "200ms"])
        self.assertNotEqual(code, 0)
        self.assertIn("unauthorized", log)
        # Anonymous joins are refused as well.
        code, log = self.run_to_exit("4", ["-auth", self.follower_auth, "-join", n1.raft_addr,
                                           "-join-attempts", "2", "-join-interval", "200ms"])
        self.assertNotEqual(code, 0)
        self.assertIn("unauthorized", log)

    def test_join_permission_does_not_cover_a_read_only_node(self):
        n1, _ = self.cluster()
        code, log = self.run_to_exit("5", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "joiner",
                                           "-raft-non-voter", "-join-attempts", "2", "-join-interval", "200ms"])
        self.assertNotEqual(code, 0)
        self.assertIn("unauthorized", log)
        n6 = self.start("6", ["-auth", self.follower_auth, "-join", n1.raft_addr, "-join-as", "replica",
                              "-raft-non-voter"], wait_leader=False)
        wait_for(lambda: n1.get("/nodes?nonvoters&ver=2").json()["nodes"].__len__() == 3, what="replica joined")
        self.assertEqual(n6.get("/status?key=store.raft.state").status, 200)

    def test_join_as_a_user_missing_from_the_auth_file_fails_at_startup(self):
        code, log = self.run_to_exit("7", ["-auth", self.follower_auth, "-join", "127.0.0.1:1", "-join-as", "ghost"])
        self.assertNotEqual(code, 0)
        self.assertIn("ghost", log)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
