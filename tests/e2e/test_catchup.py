"""Catch-up of a new node on a large database: snapshot, then the log tail.

A 1-node cluster with a small -raft-snap is filled with --mb megabytes
(rows of 64 KiB random blobs: each request is one INSERT ... SELECT over a
recursive CTE whose RANDOMBLOB() the leader rewrites into one literal, so
the log stays small while the file grows fast), a snapshot compacts the log,
a few more writes form the tail, and then a second node joins. It must
receive the database file, then the tail; /readyz?sync on it must not answer
200 before its copy holds everything the leader had committed; its db.sqlite
must equal the leader's (row count, sum of lengths, checksum query and a
SHA-256 over every row). Then the new node is killed with SIGKILL and
restarted: it must come back with the data, and the test reports whether a
second transfer happened. The kill9_while_* cases kill the joining node at
each stage of receiving a snapshot (file arriving, validation copy, load
copy, installation, checkpoint; seen by the files in its raft/ directory),
restart it, and expect an identical copy and no leftover files.

`--report` also times `cp` + fsync of the leader's db.sqlite as a baseline
measured in the same run (bench/run_catchup.sh uses it).
"""
import argparse
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
ROW_BYTES = 64 * 1024
ROWS_PER_REQUEST = 100  # 6.4 MiB of table data per log entry of ~130 KiB
SNAP_ARGS = ["-raft-snap", "16", "-raft-snap-int", "1s"]
RESULTS = {}


def open_ro(node):
    return sqlite3.connect("file:%s?mode=ro" % os.path.join(node.data_dir, "db.sqlite"), uri=True, timeout=10)


def summary(node):
    """(rows, total blob bytes, checksum query, SHA-256 of every row) of a node's file."""
    conn = open_ro(node)
    try:
        count, total, check = conn.execute(
            "SELECT count(*), total(length(b)), total(n * 7 + unicode(hex(h)) + length(h)) FROM t").fetchone()
        digest = hashlib.sha256()
        for n, h, b in conn.execute("SELECT n, h, b FROM t ORDER BY n"):
            digest.update(b"%d:" % n)
            digest.update(h)
            digest.update(b)
        return count, int(total), check, digest.hexdigest()
    finally:
        conn.close()


def row_count(node):
    conn = open_ro(node)
    try:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        conn.close()


def db_bytes(node):
    conn = open_ro(node)
    try:
        return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def log_count(node, pattern):
    try:
        with open(node.log_path, "rb") as f:
            return len(re.findall(pattern, f.read().decode("utf-8", "replace")))
    except OSError:
        return 0


def log_time(node, pattern):
    """Seconds since the epoch of the first log line matching pattern, or None."""
    import datetime
    try:
        with open(node.log_path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\]", line)
                if m and re.search(pattern, line):
                    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    except OSError:
        pass
    return None


def status(node, key):
    r = node.get("/status?key=" + key, timeout=5)
    return r.json() if r.status == 200 else None


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except (OSError, sqlite3.Error, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class ReadyProbe:
    """Polls /readyz?sync on a node from another thread and, the first time it
    answers 200, records how many rows the node's file held at that moment."""

    def __init__(self, node):
        self.node = node
        self.ready_at, self.rows_when_ready, self.answers = None, None, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set() and self.ready_at is None:
            try:
                r = self.node.get("/readyz?sync&timeout=2s", timeout=5)
            except OSError:
                time.sleep(0.05)
                continue
            self.answers[r.status] = self.answers.get(r.status, 0) + 1
            if r.status == 200:
                self.ready_at = time.time()
                try:
                    self.rows_when_ready = row_count(self.node)
                except sqlite3.Error as e:
                    self.rows_when_ready = "unreadable (%s)" % e
                self.ready_body = r.text().strip().replace("\n", " ")
                try:
                    self.raft_when_ready = self.node.get("/status?key=store.raft", timeout=5).text()
                except OSError:
                    self.raft_when_ready = None
                return
            time.sleep(0.05)


class CatchupTest(unittest.TestCase):
    def setUp(self):
        self.leader = harness.Node(ARGS.rqlited, node_id="1", extra_args=SNAP_ARGS)
        self.follower = harness.Node(ARGS.rqlited, node_id="2", extra_args=SNAP_ARGS + ["-join", None])
        self.leader.start()
        self.follower.extra_args[-1] = self.leader.raft_addr
        self.fill(self.leader)

    def tearDown(self):
        for n in (self.leader, self.follower):
            if ARGS.keep_logs:
                sys.stderr.write("--- node %s log ---\n%s\n" % (n.node_id, n.read_log()))
            n.cleanup()

    def test_new_node_receives_snapshot_then_tail_and_survives_kill9(self):
        self.run_catchup(self.leader, self.follower, check_readyz=False)
        self.restart_after_kill9(self.leader, self.follower)

    # Regression: /readyz?sync used to wait only for the node's own commit
    # index, so a node still waiting for its snapshot answered ready (fixed
    # in 44b2625).
    def test_readyz_sync_answers_ready_only_once_caught_up(self):
        self.run_catchup(self.leader, self.follower, check_readyz=True)

    def kill9_during(self, marker, min_bytes=0, in_raft_dir=True):
        """Kills the joining node the moment a file matching marker (of at
        least min_bytes) appears in its raft/ directory (or its data
        directory), restarts it, and expects a full, clean catch-up."""
        leader, follower = self.leader, self.follower
        expected = summary(leader)
        follower.start(wait_leader=False, timeout=60)
        raft_dir = os.path.join(follower.data_dir, "raft")
        watched = raft_dir if in_raft_dir else follower.data_dir

        def big_enough(name):
            try:
                return os.path.getsize(os.path.join(watched, name)) >= min_bytes
            except OSError:
                return False

        hit, deadline = None, time.time() + ARGS.timeout
        while hit is None and time.time() < deadline and follower.proc.poll() is None:
            try:
                hit = next((n for n in os.listdir(watched) if re.fullmatch(marker, n) and big_enough(n)), None)
            except OSError:
                pass
            if hit is None:
                time.sleep(0.005)
        self.assertIsNotNone(hit, "never saw %s in the new node's raft directory" % marker)
        follower.kill()
        at_kill = sorted(os.listdir(raft_dir))
        follower.start(wait_leader=False, timeout=60)
        wait_for(lambda: row_count(follower) == expected[0], ARGS.timeout, "catch-up after kill -9 (files at kill: %s)"
                 % at_kill)
        self.assertEqual(summary(follower), expected, "after kill -9 at %s (files %s) the copy differs" % (hit, at_kill))
        # The half-done transfer or installation leaves nothing behind.
        leftovers = lambda: [n for n in os.listdir(raft_dir) if n.startswith(("incoming-", "install-"))]
        try:
            wait_for(lambda: not leftovers(), 15, "no leftover files")
        except AssertionError:
            self.fail("leftover files after kill -9 at %s: %s" % (hit, leftovers()))
        RESULTS.setdefault("kill_points", []).append("%s (then %d transfers received)" %
                                                     (hit, log_count(follower, r"received snapshot")))

    def test_kill9_while_receiving_snapshot(self):
        self.kill9_during(r"incoming-.*\.part")

    # The received file is checked and loaded in place (no copies), so these
    # two kill points are told by sizes: the whole image received (then it
    # is synced and checked), and the live database's WAL filling with it.
    def test_kill9_while_validating_snapshot(self):
        self.kill9_during(r"incoming-.*\.part", min_bytes=db_bytes(self.leader) * 9 // 10)

    def test_kill9_while_loading_snapshot(self):
        self.kill9_during(r"db\.sqlite-wal", min_bytes=16 << 20, in_raft_dir=False)

    def test_kill9_while_installing_snapshot(self):
        self.kill9_during(r"install-.*\.intent")

    def test_kill9_while_checkpointing_installed_snapshot(self):
        self.kill9_during(r"checkpoint\.intent")

    def test_num_peers_is_sane_while_a_node_joins(self):
        self.follower.start(wait_leader=False)
        seen = set()
        deadline = time.time() + ARGS.timeout
        while time.time() < deadline and 1 not in seen:
            try:
                seen.add(status(self.follower, "store.raft.num_peers"))
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        self.assertIn(1, seen)
        self.assertTrue(all(v is not None and 0 <= v <= 1 for v in seen), "num_peers answers: %s" % seen)

    def fill(self, leader):
        r = leader.execute(["CREATE TABLE t (n INTEGER PRIMARY KEY, h BLOB NOT NULL, b BLOB NOT NULL)"])
        self.assertEqual(r.status, 200, r.text())
        requests = max(1, (ARGS.mb * 1024 * 1024) // (ROW_BYTES * ROWS_PER_REQUEST))
        t0 = time.time()
        for i in range(requests):
            first = i * ROWS_PER_REQUEST + 1
            sql = ("WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
                   "INSERT INTO t(n, h, b) SELECT x, X'%s', randomblob(%d) FROM c"
                   % (first, first + ROWS_PER_REQUEST - 1, os.urandom(16).hex(), ROW_BYTES))
            r = leader.post("/db/execute?transaction", [sql], timeout=120)
            self.assertEqual(r.status, 200, r.text())
            self.assertEqual(r.json()["results"][0].get("rows_affected"), ROWS_PER_REQUEST, r.text())
        # Compact the log: the joining node cannot be served from it.
        self.assertIn(leader.post("/snapshot", timeout=120).status, (200, 204))
        snap_index = status(leader, "store.raft.last_snapshot_index")
        # The tail: committed after the snapshot, so only the log carries it.
        self.tail_first = requests * ROWS_PER_REQUEST + 1
        for k in range(10):
            sql = "INSERT INTO t(n, h, b) VALUES(%d, X'%s', randomblob(100))" % (self.tail_first + k,
                                                                              os.urandom(16).hex())
            self.assertEqual(leader.execute([sql]).status, 200)
        self.assertGreater(status(leader, "store.raft.commit_index"), snap_index)
        RESULTS["fill_seconds"] = time.time() - t0
        RESULTS["db_bytes"] = db_bytes(leader)
        RESULTS["rows"] = row_count(leader)
        self.assertGreaterEqual(RESULTS["db_bytes"], ARGS.mb * 1024 * 1024 * 0.9)

    def run_catchup(self, leader, follower, check_readyz):
        expected = summary(leader)
        sent_before = log_count(leader, r"sent snapshot")
        t0 = time.time()
        follower.start(wait_leader=False, timeout=60)
        probe = ReadyProbe(follower)
        probe.thread.start()
        self.addCleanup(probe.stop.set)
        # Without the readyz check, a few writes land while the snapshot is in
        # flight: the log after it must deliver them. Fewer than -raft-snap, so
        # the leader does not compact them away before the new node needs them.
        during = 0 if check_readyz else 5
        for k in range(during):
            time.sleep(0.1)
            sql = "INSERT INTO t(n, h, b) VALUES(%d, X'%s', X'')" % (self.tail_first + 50 + k, os.urandom(4).hex())
            r = leader.execute([sql])
            self.assertEqual(r.status, 200, "a write to the leader while the new node receives the snapshot: %s; "
                             "leader state %s" % (r.text().strip(), status(leader, "store.raft.state")))
        if during:
            expected = summary(leader)
        try:
            wait_for(lambda: row_count(follower) == expected[0], ARGS.timeout, "the new node to hold every row")
            caught_up = time.time() - t0
            probe.thread.join(timeout=30)
        finally:
            probe.stop.set()
        self.assertIsNotNone(probe.ready_at, "/readyz?sync never answered 200: %s" % probe.answers)
        RESULTS["writes_during_transfer"] = during
        RESULTS["rows_when_ready"] = probe.rows_when_ready
        if check_readyz:
            self.assertEqual(probe.rows_when_ready, expected[0],
                             "/readyz?sync answered 200 (%s) while the new node held %s of %d rows; its raft "
                             "status then: %s" % (probe.ready_body, probe.rows_when_ready, expected[0],
                                                  probe.raft_when_ready))
        self.assertEqual(summary(follower), expected, "the new node's db.sqlite differs from the leader's")
        self.assertEqual(log_count(leader, r"sent snapshot") - sent_before, 1, "expected exactly one snapshot transfer")
        self.assertEqual(log_count(follower, r"received snapshot"), 1)
        # Later writes reach it through the log.
        r = leader.execute(["INSERT INTO t(n, h, b) VALUES(%d, X'00', X'01')" % (self.tail_first + 100)])
        self.assertEqual(r.status, 200, r.text())
        wait_for(lambda: row_count(follower) == expected[0] + 1, 30, "a write after catch-up")
        RESULTS["catchup_seconds"] = caught_up
        started = log_time(follower, r"store: recovered snapshot")
        received = log_time(follower, r"received snapshot")
        installed = log_time(follower, r"installed snapshot")
        if started and received and installed:
            RESULTS["phases"] = (received - started, installed - received)
        RESULTS["ready_seconds"] = probe.ready_at - t0
        RESULTS["readyz_answers"] = dict(probe.answers)

    def restart_after_kill9(self, leader, follower):
        expected = summary(leader)
        received_before = log_count(follower, r"received snapshot")
        follower.kill()
        t0 = time.time()
        follower.start(wait_leader=False, timeout=60)
        follower.wait_ready(timeout=60)
        r = leader.execute(["INSERT INTO t(n, h, b) VALUES(%d, X'00', X'02')" % (self.tail_first + 101)])
        self.assertEqual(r.status, 200, r.text())
        wait_for(lambda: row_count(follower) == expected[0] + 1, ARGS.timeout, "the restarted node to catch up")
        RESULTS["restart_seconds"] = time.time() - t0
        self.assertEqual(summary(follower), summary(leader), "after restart the copies differ")
        RESULTS["second_transfer"] = log_count(follower, r"received snapshot") > received_before
        if RESULTS["second_transfer"] and not ARGS.allow_second_transfer:
            self.fail("the restarted node received the whole database again")
        if ARGS.report:
            RESULTS["cp_fsync_seconds"] = cp_fsync_seconds(leader)
        for n in (leader, follower):
            n.stop()
            self.assertEqual(n.proc.returncode, 0, "node %s exited with %s on SIGTERM" % (n.node_id, n.proc.returncode))


def cp_fsync_seconds(node, runs=3):
    """Median time to copy the node's db.sqlite to a new file and fsync it
    (dirty pages written back first, so earlier writes do not count)."""
    times = []
    for _ in range(runs):
        target = tempfile.mktemp(prefix="rqcatchup-cp-", dir=os.path.dirname(node.data_dir))
        os.sync()
        t0 = time.time()
        subprocess.run(["cp", os.path.join(node.data_dir, "db.sqlite"), target], check=True)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        times.append(time.time() - t0)
        os.unlink(target)
    return sorted(times)[len(times) // 2]


def print_results():
    if "catchup_seconds" not in RESULTS:
        for point in RESULTS.get("kill_points", []):
            print("catch-up: killed at %s: recovered" % point)
        return
    mb = RESULTS["db_bytes"] / 1e6
    print("catch-up: database %.0f MB (%d rows) built in %.1fs" % (mb, RESULTS["rows"], RESULTS["fill_seconds"]))
    print("catch-up: new node held every row after %.2fs (%.1f MB/s); /readyz?sync first 200 after %.2fs "
          "with %s rows in its file; answers %s"
          % (RESULTS["catchup_seconds"], mb / RESULTS["catchup_seconds"], RESULTS["ready_seconds"],
             RESULTS["rows_when_ready"], RESULTS["readyz_answers"]))
    if "phases" in RESULTS:
        print("catch-up: phases from the new node's log: start to snapshot received %.2fs (%.1f MB/s), "
              "received to installed %.2fs" % (RESULTS["phases"][0], mb / RESULTS["phases"][0], RESULTS["phases"][1]))
    if "restart_seconds" in RESULTS:
        print("catch-up: after kill -9 the node was back and current in %.2fs; second full transfer: %s"
              % (RESULTS["restart_seconds"], "yes" if RESULTS["second_transfer"] else "no"))
    for point in RESULTS.get("kill_points", []):
        print("catch-up: killed at %s: recovered" % point)
    if "cp_fsync_seconds" in RESULTS:
        cp = RESULTS["cp_fsync_seconds"]
        print("catch-up: baseline cp + fsync of db.sqlite (median of 3) %.2fs (%.1f MB/s); catch-up / cp ratio %.2f"
              % (cp, mb / cp, RESULTS["catchup_seconds"] / cp))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--mb", type=int, default=200, help="database size in MiB")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for catch-up")
    parser.add_argument("--report", action="store_true", help="also time cp + fsync as a baseline")
    parser.add_argument("--allow-second-transfer", action="store_true")
    parser.add_argument("--keep-logs", action="store_true", help="print both node logs at the end")
    ARGS, rest = parser.parse_known_args()
    import atexit
    atexit.register(print_results)
    harness.run_tests([sys.argv[0]] + rest)
