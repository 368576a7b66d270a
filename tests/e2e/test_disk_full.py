"""A node whose disk fills up, in a 3-node cluster of real processes.

The node's data directory sits on a small tmpfs of its own, filled up with a
filler file until a write needs more room than is left. The write is one
Raft entry (the SQL text is small, so the log takes it); applying it needs
~20 MB in SQLite, which fails with "database or disk is full" on that node
only. The node must stop rather than record that error as the statement's
result (which would leave its db.sqlite without a row every other replica
has, for good), and once there is room again a restart applies the entry and
the three files are identical.

Cases: a follower's disk fills (the leader and the other follower go on
acknowledging writes); the leader's disk fills (the write is never answered
as failed: the client gets no answer, the others elect and keep it).

Needs root and `mount -t tmpfs`; otherwise prints SKIP and exits 77.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
SKIP_CODE = 77
BIG = "INSERT INTO t(id, b) VALUES(100, zeroblob(20000000))"


def mount_tmpfs(path, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode == 0, r.stderr.strip()


def can_mount():
    if os.geteuid() != 0:
        return False, "not root"
    probe = tempfile.mkdtemp(prefix="rqfull-probe-")
    try:
        ok, why = mount_tmpfs(probe, "1m")
        if ok:
            subprocess.run(["umount", probe])
        return ok, why
    finally:
        os.rmdir(probe)


def rows(node):
    return harness.file_rows(node, "SELECT id, length(b) FROM t ORDER BY id")


def insert(node, id_, timeout=5):
    """'ok', 'error' (an answer that is not a success) or 'unknown' (no answer)."""
    try:
        r = node.execute([["INSERT INTO t(id, b) VALUES(?, zeroblob(10))", id_]], params="")
    except OSError:
        return "unknown"
    body = r.json() if r.status == 200 else {}
    ok = r.status == 200 and "error" not in body and body["results"][0].get("rows_affected") == 1
    return "ok" if ok else "error"


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="rqfull-")
        ok, why = mount_tmpfs(self.mnt, "300m")
        self.assertTrue(ok, why)
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            if self._outcome_failed():
                sys.stderr.write("--- node %s log tail ---\n%s\n" % (n.node_id, n.read_log()[-2500:]))
            n.cleanup()
        subprocess.run(["umount", "-l", self.mnt])
        shutil.rmtree(self.mnt, ignore_errors=True)

    def _outcome_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return bool(result) and any(test is self for test, _ in result.failures + result.errors)

    def start_cluster(self, small):
        """Nodes 1 (the first leader), 2 and 3; node `small` on the tmpfs."""
        for i in (1, 2, 3):
            data_dir = os.path.join(self.mnt, "n%d" % i) if i == small else None
            args = ["-raft-election-timeout", "1s"] + (["-join", self.nodes[0].raft_addr] if i > 1 else [])
            node = harness.Node(ARGS.rqlited, node_id=str(i), data_dir=data_dir, extra_args=args)
            self.nodes.append(node)
            node.start()
        r = self.nodes[0].execute(["CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)"])
        self.assertEqual(r.status, 200, r.text())
        for i in range(1, 11):
            self.assertEqual(insert(self.nodes[0], i), "ok")
        harness.wait_for(lambda: all(len(rows(n)) == 10 for n in self.nodes), 20, what="10 rows everywhere")
        # Let the log's background preallocation finish, then leave ~8 MB.
        time.sleep(2)
        stat = os.statvfs(self.mnt)
        free = stat.f_bavail * stat.f_frsize
        with open(os.path.join(self.mnt, "filler"), "wb") as f:
            f.truncate(0)
            chunk = b"\0" * (1 << 20)
            for _ in range(max(0, free - (8 << 20)) >> 20):
                f.write(chunk)

    def make_room(self):
        os.unlink(os.path.join(self.mnt, "filler"))

    def assert_identical(self, expected_ids):
        def same():
            contents = [rows(n) for n in self.nodes]
            return all(c == contents[0] for c in contents) and [i for i, _ in contents[0]] == expected_ids

        try:
            harness.wait_for(same, 30, what="identical db.sqlite files", retry_on=(sqlite3.Error, OSError))
        except AssertionError:
            pass
        contents = [rows(n) for n in self.nodes]
        for n, c in zip(self.nodes, contents):
            self.assertEqual([i for i, _ in c], expected_ids, "node %s" % n.node_id)
            self.assertEqual(c, contents[0], "node %s differs from node 1" % n.node_id)

    def test_follower_whose_disk_fills_stops_and_catches_up(self):
        self.start_cluster(small=3)
        leader, other, full = self.nodes
        r = leader.execute([BIG, "INSERT INTO t(id, b) VALUES(101, zeroblob(10))"])
        self.assertEqual(r.status, 200, r.text())
        self.assertNotIn("error", r.text())
        full.proc.wait(timeout=30)
        self.assertNotEqual(full.proc.returncode, 0)
        self.assertIn("applying log entry", full.read_log())
        self.assertIn("database or disk is full", full.read_log())
        # The others are a quorum and go on.
        for i in range(200, 210):
            self.assertEqual(insert(leader, i), "ok")
        self.make_room()
        full.start(wait_leader=False)
        self.assert_identical(list(range(1, 11)) + [100, 101] + list(range(200, 210)))
        self.assertEqual(rows(full)[10], (100, 20000000))
        print("follower with a full disk: stopped on the entry, caught up after a restart")

    def test_leader_whose_disk_fills_never_answers_failure(self):
        self.start_cluster(small=1)
        full, others = self.nodes[0], self.nodes[1:]
        try:
            r = full.execute([BIG, "INSERT INTO t(id, b) VALUES(101, zeroblob(10))"])
            answer = "%d %s" % (r.status, r.text())
        except OSError as e:
            answer = "no answer (%s)" % e.__class__.__name__
        # Committed before it was applied: the one thing the client must not
        # hear is that it failed.
        self.assertNotIn("disk is full", answer)
        full.proc.wait(timeout=30)
        self.assertNotEqual(full.proc.returncode, 0)
        self.assertIn("applying log entry", full.read_log())
        harness.wait_for(lambda: harness.leader_of(others) is not None, 20, what="a new leader")
        new = harness.leader_of(others)
        for i in range(200, 210):
            self.assertEqual(insert(new, i), "ok")
        self.make_room()
        full.start(wait_leader=False)
        self.assert_identical(list(range(1, 11)) + [100, 101] + list(range(200, 210)))
        print("leader with a full disk: the client got %s; the others kept the write" % answer[:60])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    ok, why = can_mount()
    if not ok:
        print("SKIP: cannot mount a tmpfs (%s)" % why)
        sys.exit(SKIP_CODE)
    ARGS.rqlited = os.path.abspath(ARGS.rqlited)
    harness.run_tests([sys.argv[0]] + rest)
