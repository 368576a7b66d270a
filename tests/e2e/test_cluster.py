"""End-to-end cluster tests: several real rqlited processes on 127.0.0.1.

Covers the DEVELOPERS.md scenario (the 2020 command line with -on-disk and
an http:// join URL), joining by Raft address, forwarding and ?redirect,
leader failover under kill -9 with no acknowledged write lost or doubled,
read replicas, remove and rejoin, and catch-up by snapshot.
"""
import argparse
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
leader_of = harness.leader_of
http = harness.http


def wait_for(predicate, timeout=20, interval=0.05, what="condition"):
    harness.wait_for(predicate, timeout, interval, what, harness.RETRYABLE + (sqlite3.Error,))


def rows(node, sql, level="none"):
    r = node.query([sql], "?level=" + level)
    assert r.status == 200, r.text()
    return r.json()["results"][0].get("values", [])


file_rows = harness.file_rows


def file_dump_digest(node):
    conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.data_dir, "db.sqlite"), uri=True)
    try:
        digest = hashlib.sha256()
        for line in conn.iterdump():
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()
    finally:
        conn.close()


class HoldingProxy:
    """A TCP proxy that accepts connections but forwards nothing until
    release(); then it relays both ways to `target`."""

    def __init__(self):
        import socket as socket_module
        self.socket_module = socket_module
        self.listener = socket_module.socket()
        self.listener.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.target = None
        self.released = threading.Event()
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        self.released.wait()
        try:
            upstream = self.socket_module.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        pump(upstream, client)

    def release(self):
        self.released.set()

    def close(self):
        self.closed = True
        self.released.set()
        self.listener.close()


class ClusterTest(unittest.TestCase):
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

    def test_developers_scenario_with_legacy_flags(self):
        n1 = self.start("1")
        r = n1.execute(["CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"])
        self.assertEqual(r.status, 200, r.text())
        r = n1.execute(['INSERT INTO foo(name) VALUES("fiona")'])
        self.assertEqual(r.json(), {"results": [{"last_insert_id": 1, "rows_affected": 1}]})
        # The 2020 form: -on-disk, and -join with the first node's HTTP API URL.
        n2 = harness.Node(ARGS.rqlited, node_id="2")
        n2.extra_args = ["-on-disk"]
        n2.args = lambda: [n2.binary, "-on-disk", "-node-id", "2", "-http-addr", "localhost:%d" % n2.http_port,
                           "-raft-addr", "localhost:%d" % n2.raft_port,
                           "-join", "http://localhost:%d" % n1.http_port, n2.data_dir]
        self.nodes.append(n2)
        n2.start()
        wait_for(lambda: file_rows(n2, "SELECT * FROM foo") == [(1, "fiona")], what="row on node 2")
        self.assertEqual(file_rows(n1, "SELECT * FROM foo"), [(1, "fiona")])
        # Every later write reaches both files, whichever node receives it.
        r = n2.execute(['INSERT INTO foo(name) VALUES("declan")'])
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.json()["results"][0]["rows_affected"], 1)
        for n in (n1, n2):
            wait_for(lambda n=n: len(file_rows(n, "SELECT * FROM foo")) == 2, what="second row everywhere")
        nodes = n1.get("/nodes?ver=2").json()["nodes"]
        self.assertEqual([x["id"] for x in nodes], ["1", "2"])
        self.assertTrue(all(x["reachable"] for x in nodes))

    def test_db_timeout_stops_a_replicated_write_on_every_replica_or_none(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr)
        self.assertEqual(n1.execute(["CREATE TABLE t (k INTEGER, x INTEGER)"]).status, 200)
        # Interrupted by each replica's own clock, some replicas kept a write
        # and others did not (seen before: the leader acknowledged a write
        # both followers lacked). The sizes straddle what db_timeout=10ms
        # allows, so some writes finish and some are stopped; half are sent
        # through a follower.
        completed, stopped = {}, []
        for k in range(1, 21):
            n = 3000 * k
            sql = ("INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
                   "SELECT %d, x FROM c" % (n, k))
            r = (n1 if k % 2 else n2).execute([sql], "?db_timeout=10ms")
            self.assertEqual(r.status, 200, r.text())
            result = r.json()["results"][0]
            if result.get("error") == "execute timeout":
                stopped.append(k)
            else:
                self.assertEqual(result.get("rows_affected"), n, r.text())
                completed[k] = n
        self.assertTrue(completed and stopped, (completed, stopped))
        expected = sorted(completed.items())
        for n in (n1, n2, n3):
            wait_for(lambda n=n: file_rows(n, "SELECT k, count(*) FROM t GROUP BY k ORDER BY k") == expected,
                     what="the same writes, each whole, on node " + n.node_id)
        # A write that would run for minutes and grow the file by gigabytes
        # gives up, and the writes behind it are not held up.
        huge = ("INSERT INTO t SELECT 0, x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT x FROM c LIMIT 300000000)")
        r = n1.execute([huge], "?db_timeout=500ms")
        self.assertEqual(r.json()["results"][0].get("error"), "execute timeout", r.text())
        r = n2.execute(["INSERT INTO t VALUES(99, 1)"])
        self.assertEqual(r.json()["results"][0].get("rows_affected"), 1, r.text())
        for n in (n1, n2, n3):
            wait_for(lambda n=n: file_rows(n, "SELECT count(*) FROM t WHERE k IN (0, 99)") == [(1,)],
                     what="the stopped write absent and the next one present on node " + n.node_id)
        # Every file holds the same content, row for row.
        dumps = {n.node_id: file_dump_digest(n) for n in (n1, n2, n3)}
        self.assertEqual(len(set(dumps.values())), 1, dumps)
        # Queries keep their db_timeout, by the node's clock.
        slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT max(x) FROM c"
        r = n1.query([slow], "?db_timeout=50ms")
        self.assertIn("query timeout", r.text())

    def test_three_nodes_forwarding_redirect_and_reads(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr)
        r = n3.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(7)"])
        self.assertEqual(r.status, 200, r.text())
        r = n2.execute(["INSERT INTO t VALUES(8)"], "?redirect")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.headers.get("Location"), n1.url + "/db/execute?redirect")
        for level in ["weak", "linearizable", "strong"]:
            self.assertEqual(rows(n2, "SELECT v FROM t", level), [[7]], level)
        wait_for(lambda: rows(n3, "SELECT v FROM t") == [[7]], what="replication to n3")
        r = n2.get("/leader")
        self.assertEqual(r.json()["id"], "1")
        # Every node names the leader's Raft address (tools that wait for a
        # cluster to form poll it on each member).
        for n in (n1, n2, n3):
            wait_for(lambda n=n: n.get("/status").json()["store"]["leader"] ==
                     {"addr": n1.raft_addr, "node_id": "1"}, what="the leader in /status of node " + n.node_id)

    def test_debug_vars_count_joins_on_the_leader_and_forwarding_on_the_follower(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        leader_vars = n1.get("/debug/vars").json()
        self.assertGreaterEqual(leader_vars["cluster"]["num_join_req"], 1)
        self.assertGreaterEqual(leader_vars["store"]["num_joins"], 1)
        r = n2.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"])
        self.assertEqual(r.status, 200, r.text())
        follower_vars = n2.get("/debug/vars").json()
        self.assertEqual(follower_vars["proxy"]["remote_executions"], 1)
        self.assertEqual(follower_vars["proxy"]["remote_executions_failed"], 0)
        self.assertEqual(follower_vars["cluster"]["num_execute_req"], 0)
        self.assertEqual(n1.get("/debug/vars").json()["cluster"]["num_execute_req"], 1)
        # Both replicas ran both statements on their own database.
        wait_for(lambda: n2.get("/debug/vars").json()["db"]["executions"] >= 2, what="the write applied on node 2")
        status = n2.get("/status").json()["store"]
        self.assertEqual(status["nodes"], [{"id": "1", "addr": n1.raft_addr, "suffrage": "Voter"},
                                           {"id": "2", "addr": n2.raft_addr, "suffrage": "Voter"}])

    def test_a_node_that_cannot_join_yet_serves_its_api_while_it_retries(self):
        # A name DNS does not know yet (peers appear later on Kubernetes), given
        # without a port: rqlite's default Raft port applies.
        early = harness.Node(ARGS.rqlited, node_id="e",
                             extra_args=["-join", "nosuch.invalid", "-join-attempts", "1000", "-join-interval", "100ms"])
        self.nodes.append(early)
        early.start(wait_leader=False)
        self.assertEqual(early.get("/status").status, 200)
        self.assertEqual(early.get("/readyz").status, 503)
        self.assertEqual(early.get("/readyz?noleader").status, 200)
        wait_for(lambda: "via nosuch.invalid:4002" in early.read_log(), what="join attempts with the default port")
        # A peer that appears later is joined: the leader starts after the node.
        leader_http, leader_raft = harness.free_port(), harness.free_port()
        late = harness.Node(ARGS.rqlited, node_id="l", http_port=leader_http, raft_port=leader_raft)
        joiner = harness.Node(ARGS.rqlited, node_id="j",
                              extra_args=["-join", "127.0.0.1:%d" % leader_raft, "-join-attempts", "1000",
                                          "-join-interval", "100ms"])
        self.nodes += [late, joiner]
        joiner.start(wait_leader=False)
        self.assertEqual(joiner.get("/readyz").status, 503)
        late.start()
        joiner.wait_ready()
        self.assertEqual(len(late.get("/nodes?ver=2").json()["nodes"]), 2)

    def test_a_node_that_led_its_own_cluster_refuses_to_join_another(self):
        own = self.start("a")
        self.assertEqual(own.execute(["CREATE TABLE mine (v)", "INSERT INTO mine VALUES(1)"]).status, 200)
        own.stop()
        other = self.start("b")
        self.assertEqual(other.execute(["CREATE TABLE theirs (v)"]).status, 200)
        own.extra_args = ["-join", other.raft_addr]
        own.log = open(own.log_path, "ab")
        own.proc = subprocess.Popen(own.args(), stdout=own.log, stderr=subprocess.STDOUT)
        self.assertEqual(own.proc.wait(timeout=60), 1, own.read_log())
        self.assertIn("already leads a cluster of its own", own.read_log())
        # Nothing of either history reached the other (db.sqlite itself may
        # not hold "mine" yet: it lives in the log until the next snapshot).
        self.assertEqual(len(other.get("/nodes?ver=2").json()["nodes"]), 1)
        # Without -join it is its own cluster's leader again, with its own data.
        own.extra_args = []
        own.start()
        wait_for(lambda: rows(own, "SELECT name FROM sqlite_master") == [["mine"]], what="its own table replayed")
        self.assertEqual(rows(own, "SELECT v FROM mine"), [[1]])

    def test_qualified_columns_and_expression_types_at_every_level(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        self.assertEqual(n1.execute(["CREATE TABLE t (a INTEGER, b TEXT)", "INSERT INTO t VALUES(1, 'x')"]).status, 200)
        wait_for(lambda: rows(n2, "SELECT count(*) FROM t") == [[1]], what="replication")
        for node in (n1, n2):
            for level in ("none", "weak", "strong"):
                r = node.query(["SELECT a, b, count(*), hex(b), 1.5 AS f FROM t"], "?qualify_columns&level=" + level)
                result = r.json()["results"][0]
                where = "node %s level %s" % (node.node_id, level)
                self.assertEqual(result["columns"], ["t.a", "t.b", "count(*)", "hex(b)", "f"], where)
                # Expression columns take the first row's value types, as rqlite 8+ reports them.
                self.assertEqual(result["types"], ["integer", "text", "integer", "text", "real"], where)
        r = n2.query(["SELECT a FROM t"])
        self.assertEqual(r.json()["results"][0]["columns"], ["a"])

    def test_backup_from_a_follower_is_made_by_the_leader(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        # Large enough for several chunks of the BACKUP RPC (4 MiB each).
        r = n1.execute(["CREATE TABLE big (a INTEGER PRIMARY KEY, b TEXT)",
                        "INSERT INTO big SELECT x, hex(randomblob(50)) FROM (WITH RECURSIVE c(x) AS "
                        "(SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 120000)"])
        self.assertEqual(r.status, 200, r.text())
        r = http("GET", n2.url + "/db/backup", timeout=60)
        self.assertEqual(r.status, 200, r.text())
        self.assertGreater(len(r.body), 8 << 20)
        path = os.path.join(n2.data_dir, "..", "backup-%s.db" % n2.node_id)
        with open(path, "wb") as f:
            f.write(r.body)
        try:
            conn = sqlite3.connect(path)
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(conn.execute("SELECT count(*) FROM big").fetchall(), [(120000,)])
            conn.close()
        finally:
            os.unlink(path)
        r = http("GET", n2.url + "/db/backup?fmt=sql&tables=big", timeout=60)
        self.assertEqual(r.status, 200, r.text())
        self.assertIn(b"CREATE TABLE big", r.body[:4096])
        r = http("GET", n2.url + "/db/backup?redirect")
        self.assertEqual(r.status, 301)
        # Nothing is left behind on either node once the backups are served.
        for n in (n1, n2):
            self.assertEqual(os.listdir(os.path.join(n.data_dir, "tmp")), [], n.node_id)

    def test_leader_kill9_failover_loses_nothing_acknowledged(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr)
        nodes = [n1, n2, n3]
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER NOT NULL)"]).status, 200)
        acked, lock, stop = set(), threading.Lock(), threading.Event()
        counter = [0]

        def writer():
            while not stop.is_set():
                with lock:
                    counter[0] += 1
                    value = counter[0]
                target = nodes[value % 3]
                if target.proc.poll() is not None:
                    continue
                try:
                    r = harness.http("POST", target.url + "/db/execute", [["INSERT INTO t(v) VALUES(?)", value]],
                                     timeout=5)
                except OSError:
                    continue
                if r.status == 200 and "error" not in r.json() and r.json()["results"][0].get("rows_affected") == 1:
                    with lock:
                        acked.add(value)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        old = leader_of(nodes)
        self.assertIsNotNone(old)
        old.kill()
        t0 = time.time()
        wait_for(lambda: leader_of([n for n in nodes if n is not old]) is not None, timeout=15,
                 what="a new leader")
        elapsed = time.time() - t0
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        old.start(wait_leader=False)
        new_leader = leader_of(nodes)
        final = set(v for (v,) in rows(new_leader, "SELECT v FROM t", "strong"))
        for n in nodes:
            wait_for(lambda n=n: len(file_rows(n, "SELECT v FROM t")) == len(final), timeout=20,
                     what="node %s to converge" % n.node_id)
            values = [v for (v,) in file_rows(n, "SELECT v FROM t")]
            self.assertEqual(len(values), len(set(values)), "a write applied twice on node " + n.node_id)
            self.assertEqual(set(values), final, "node %s differs" % n.node_id)
        self.assertFalse(acked - final, "acknowledged writes lost")
        self.assertGreater(len(acked), 20)
        print("failover: new leader after %.2fs; acknowledged %d" % (elapsed, len(acked)))

    def test_read_replica_remove_and_rejoin(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr, extra=["-raft-non-voter=true"])
        n1.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"])
        wait_for(lambda: rows(n3, "SELECT v FROM t") == [[1]], what="learner catches up")
        voters = n1.get("/nodes?ver=2").json()["nodes"]
        self.assertEqual([x["id"] for x in voters], ["1", "2"])
        everyone = {x["id"]: x for x in n1.get("/nodes?ver=2&nonvoters").json()["nodes"]}
        self.assertFalse(everyone["3"]["voter"])
        self.assertEqual(n3.execute(["INSERT INTO t VALUES(2)"]).status, 200, "a learner forwards writes")
        r = harness.http("DELETE", n1.url + "/remove", {"id": "2"})
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual([x["id"] for x in n1.get("/nodes?ver=2").json()["nodes"]], ["1"])
        self.assertEqual(n1.execute(["INSERT INTO t VALUES(3)"]).status, 200, "quorum of one after removal")

    def test_freshness_bounds_reads_on_a_follower_cut_off_from_its_leader(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n1.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(5)"])
        wait_for(lambda: rows(n2, "SELECT v FROM t") == [[5]], what="replication")
        r = n2.query(["SELECT v FROM t"], "?level=none&freshness=1s")
        self.assertEqual(r.json()["results"][0]["values"], [[5]])
        n1.kill()
        time.sleep(1.5)
        r = n2.query(["SELECT v FROM t"], "?level=none&freshness=1s")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"results": [], "error": "stale read"})
        r = n2.query(["SELECT v FROM t"], "?level=none")
        self.assertEqual(r.json()["results"][0]["values"], [[5]], "level=none works cut off")
        r = n2.query(["SELECT v FROM t"], "?level=weak")
        self.assertEqual(r.status, 503)

    def test_a_stopped_follower_is_logged_as_having_closed_the_connection(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n1.execute(["CREATE TABLE t (v INTEGER)"])
        wait_for(lambda: rows(n2, "SELECT count(*) FROM t") == [[0]], what="replication")
        n2.stop()
        # The whole log: read_log keeps only its tail, which the leader's
        # reconnect attempts can push the line out of on a loaded machine.
        # Which side sees the close first is a race the kernel decides: the
        # watcher's EOF, or the writer's reset; both say what happened.
        wanted = ["peer 2 at %s unreachable: IOError: %s" % (n2.raft_addr, why)
                  for why in ("connection closed by the peer", "Connection reset by peer")]

        def whole_log():
            with open(n1.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        wait_for(lambda: any(w in whole_log() for w in wanted), what="the leader's log line")
        self.assertNotIn("Bad file descriptor", whole_log())

    def test_freshness_strict_waits_for_the_follower_to_apply_what_the_leader_committed(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n1.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"])
        wait_for(lambda: rows(n2, "SELECT COUNT(*) FROM t") == [[1]], what="replication")
        heavy = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) "
                 "INSERT INTO t SELECT x FROM c")
        writer = threading.Thread(target=lambda: n1.execute([heavy], "?timeout=120s"))
        writer.start()

        def lagging():
            raft = n2.get("/status?key=store.raft", timeout=5).json()
            return raft["commit_index"] > raft["applied_index"]
        try:
            wait_for(lagging, timeout=30, interval=0.005, what="the follower applying the big insert")
            # Plain freshness: the leader was heard from, so the old state is served at once.
            r = n2.query(["SELECT COUNT(*) FROM t"], "?level=none&freshness=5s")
            self.assertEqual(r.json()["results"][0]["values"], [[1]], r.text())
            # Strict: the read waits until the committed insert is applied.
            r = n2.query(["SELECT COUNT(*) FROM t"], "?level=none&freshness=30s&freshness_strict")
            self.assertEqual(r.json()["results"][0]["values"], [[4000001]], r.text())
        finally:
            writer.join()

    def test_sync_index_reads_your_own_write_on_a_lagging_follower(self):
        # The leader tells followers of commits only with its heartbeats
        # (1s) here, so a follower lags each write by up to a second.
        slow = ["-raft-commit-timeout", "1s", "-raft-heartbeat-timeout", "1s", "-raft-election-timeout", "5s"]
        n1 = self.start("1", extra=slow)
        n2 = self.start("2", join=n1.raft_addr, extra=slow)
        n1.execute(["CREATE TABLE t (v TEXT)"])
        stale = 0
        for i in range(5):
            write = n1.execute([["INSERT INTO t VALUES(?)", "w%d" % i]], "?raft_index").json()
            index = write["raft_index"] if "raft_index" in write else write["results"][0]["raft_index"]
            count = ["SELECT COUNT(*) FROM t WHERE v = 'w%d'" % i]
            # Stale: the row not there yet, or not even the table (the
            # follower may not have applied the CREATE TABLE either).
            plain = n2.query(count, "?level=none").json()["results"][0]
            stale += plain.get("values") == [[0]] or "no such table" in plain.get("error", "")
            r = n2.query(count, "?level=none&sync_index=%d" % index)
            self.assertEqual(r.json()["results"][0]["values"], [[1]], r.text())
        self.assertGreater(stale, 0, "the follower never lagged: the test shows nothing")
        # Weak on the follower goes to the leader with the index.
        write = n1.execute([["INSERT INTO t VALUES(?)", "weak"]], "?raft_index").json()
        index = write["raft_index"] if "raft_index" in write else write["results"][0]["raft_index"]
        r = n2.query(["SELECT COUNT(*) FROM t WHERE v = 'weak'"], "?level=weak&sync_index=%d" % index)
        self.assertEqual(r.json()["results"][0]["values"], [[1]], r.text())
        # An index that never comes: the request's timeout, then a clear error.
        started = time.time()
        r = n2.query(["SELECT 1"], "?level=none&sync_index=99999999&timeout=1s")
        self.assertEqual(r.json()["error"], "timed out waiting for this node to apply index 99999999")
        self.assertLess(time.time() - started, 5)
        self.assertEqual(n2.query(["SELECT 1"], "?sync_index=x").status, 400)

    def test_linearizable_reads_on_a_lagging_follower_are_served_there_and_see_every_acknowledged_write(self):
        slow = ["-raft-commit-timeout", "1s", "-raft-heartbeat-timeout", "1s", "-raft-election-timeout", "5s"]
        n1 = self.start("1", extra=slow)
        n2 = self.start("2", join=n1.raft_addr, extra=slow)
        self.start("3", join=n1.raft_addr, extra=slow)
        n1.execute(["CREATE TABLE t (v TEXT)"])
        before_leader = n1.get("/debug/vars").json()["cluster"]["num_read_index_req"]
        before_forwarded = n2.get("/debug/vars").json()["proxy"]["remote_queries"]
        stale = 0
        for i in range(5):
            self.assertEqual(n1.execute([["INSERT INTO t VALUES(?)", "w%d" % i]]).status, 200)
            count = ["SELECT COUNT(*) FROM t WHERE v = 'w%d'" % i]
            # Stale: the row not there yet, or not even the table (the
            # follower may not have applied the CREATE TABLE either).
            plain = n2.query(count, "?level=none").json()["results"][0]
            stale += plain.get("values") == [[0]] or "no such table" in plain.get("error", "")
            r = n2.query(count, "?level=linearizable")
            self.assertEqual(r.json()["results"][0]["values"], [[1]], r.text())
            # Served by the follower itself, not by the leader.
            self.assertEqual(r.headers.get("X-RQLITE-SERVED-BY"), None, r.headers)
        self.assertGreater(stale, 0, "the follower never lagged: the test shows nothing")
        self.assertEqual(n1.get("/debug/vars").json()["cluster"]["num_read_index_req"], before_leader + 5)
        self.assertEqual(n2.get("/debug/vars").json()["proxy"]["remote_queries"], before_forwarded)

    def test_a_joining_voter_is_a_learner_until_caught_up_and_a_new_leader_finishes_its_promotion(self):
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr)

        def suffrage(node):
            # A short probe: node 4 is unreachable through the held proxy.
            return {x["id"]: x["voter"] for x in node.get("/nodes?nonvoters&ver=2&timeout=300ms").json()["nodes"]}
        for n in (n2, n3):
            wait_for(lambda n=n: suffrage(n1).get(n.node_id) is True, what="node %s promoted" % n.node_id)
        n1.execute(["CREATE TABLE t (v INTEGER)"])
        for i in range(300):
            n1.execute([["INSERT INTO t VALUES(?)", i]])
        # Node 4 is reached through a proxy that holds everything sent to it,
        # so it joins but cannot catch up: it must stay a learner.
        proxy = HoldingProxy()
        self.addCleanup(proxy.close)
        n4 = harness.Node(ARGS.rqlited, node_id="4", extra_args=["-join", n1.raft_addr])
        n4.extra_args += ["-raft-adv-addr", "127.0.0.1:%d" % proxy.port]
        proxy.target = ("127.0.0.1", n4.raft_port)
        self.nodes.append(n4)
        n4.start(wait_leader=False)
        wait_for(lambda: "4" in suffrage(n1), what="node 4 a member")
        time.sleep(1.0)
        self.assertIs(suffrage(n1)["4"], False, "a node that has not caught up was made a voter")
        self.assertEqual(n1.get("/debug/vars").json()["store"]["num_promotions"], 2)
        # The leader dies before the promotion; the next one must make it.
        n1.kill()
        survivors = [n2, n3]
        wait_for(lambda: harness.leader_of(survivors) is not None, 30, what="a new leader")
        leader = harness.leader_of(survivors)
        proxy.release()
        wait_for(lambda: suffrage(leader).get("4") is True, 30, what="node 4 promoted by the new leader")
        self.assertGreaterEqual(leader.get("/debug/vars").json()["store"]["num_promotions"], 1)
        wait_for(lambda: rows(n4, "SELECT COUNT(*) FROM t") == [[300]], what="node 4 caught up")

    def test_sigterm_with_writes_waiting_on_a_frozen_leader_exits_cleanly(self):
        # A follower's forwarded writes are still waiting for the leader when
        # it is told to stop: they must be answered before the HTTP server
        # they report to is gone (this crashed with SIGSEGV once).
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        self.start("3", join=n1.raft_addr)
        n1.execute(["CREATE TABLE t (v INTEGER)"])
        n2.wait_ready()
        os.kill(n1.proc.pid, signal.SIGSTOP)
        try:
            writers = [threading.Thread(target=lambda: n2.execute(["INSERT INTO t VALUES(1)"], "?timeout=60s"),
                                        daemon=True) for _ in range(4)]
            for w in writers:
                w.start()
            time.sleep(0.5)
            n2.stop()
            self.assertEqual(n2.proc.returncode, 0, n2.read_log())
        finally:
            os.kill(n1.proc.pid, signal.SIGCONT)

    def test_random_in_defaults_and_triggers_differs_per_row_and_is_identical_everywhere(self):
        # DEFAULT (random()) and a trigger's random() run inside the write on
        # every replica: each row must get its own values, the same on every
        # node and again when a restarted node replays the log.
        n1 = self.start("1")
        n2 = self.start("2", join=n1.raft_addr)
        n3 = self.start("3", join=n1.raft_addr)
        nodes = [n1, n2, n3]
        leader = leader_of(nodes)
        r = leader.execute(["CREATE TABLE e (id INTEGER PRIMARY KEY, r INTEGER DEFAULT (random()), "
                            "b BLOB DEFAULT (randomblob(4)))",
                            "CREATE TABLE log (id INTEGER, r INTEGER)",
                            "CREATE TRIGGER tr AFTER INSERT ON e BEGIN INSERT INTO log VALUES (new.id, random()); END"])
        self.assertEqual(r.status, 200, r.text())
        self.assertNotIn("error", r.text())
        r = leader.execute(["INSERT INTO e(id) VALUES(1)", "INSERT INTO e(id) VALUES(2)", "INSERT INTO e(id) VALUES(3)"])
        self.assertEqual(r.status, 200, r.text())
        self.assertNotIn("error", r.text())
        # One follower snapshots here, so after its restart it replays only
        # the last write, in a fresh process.
        followers = [n for n in nodes if n is not leader]
        wait_for(lambda: len(file_rows(followers[1], "SELECT id FROM e")) == 3, what="rows 1-3 on a follower")
        r = followers[1].post("/snapshot")
        self.assertEqual(r.status, 200, r.text())
        r = leader.execute(["INSERT INTO e(id) VALUES(4)"])
        self.assertEqual(r.status, 200, r.text())
        self.assertNotIn("error", r.text())
        e_sql = "SELECT id, r, hex(b) FROM e ORDER BY id"
        log_sql = "SELECT id, r FROM log ORDER BY id"
        for n in nodes:
            wait_for(lambda n=n: len(file_rows(n, e_sql)) == 4 and len(file_rows(n, log_sql)) == 4,
                     what="four rows on node " + n.node_id)
        expected_e, expected_log = file_rows(leader, e_sql), file_rows(leader, log_sql)
        self.assertEqual([row[0] for row in expected_e], [1, 2, 3, 4])
        self.assertEqual(len({row[1] for row in expected_e}), 4, "r repeats: %s" % expected_e)
        self.assertEqual(len({row[2] for row in expected_e}), 4, "b repeats: %s" % expected_e)
        self.assertTrue(all(len(row[2]) == 8 for row in expected_e), expected_e)
        self.assertEqual(len({row[1] for row in expected_log}), 4, "trigger's random() repeats: %s" % expected_log)
        for n in nodes:
            self.assertEqual(file_rows(n, e_sql), expected_e, "node %s differs" % n.node_id)
            self.assertEqual(file_rows(n, log_sql), expected_log, "node %s differs" % n.node_id)
            self.assertEqual(rows(n, e_sql), [list(row) for row in expected_e], "node %s via level=none" % n.node_id)
        # A follower restarted on its data directory discards its SQLite WAL
        # and applies the log again (all of it, or what followed its
        # snapshot): it must compute the same values.
        for follower in followers:
            follower.kill()
            follower.start(wait_leader=False)
            wait_for(lambda f=follower: file_rows(f, e_sql) == expected_e and file_rows(f, log_sql) == expected_log,
                     what="the same values after replay on node " + follower.node_id)

    def test_new_node_catches_up_by_snapshot(self):
        n1 = self.start("1", extra=["-raft-snap", "20", "-raft-snap-int", "100ms"])
        n1.execute(["CREATE TABLE t (v INTEGER)"])
        for i in range(120):
            self.assertEqual(n1.execute([["INSERT INTO t VALUES(?)", i]]).status, 200)
        wait_for(lambda: n1.get("/status?key=store.raft.last_snapshot_index").json() > 60, what="snapshots")
        n2 = self.start("2", join=n1.raft_addr)
        wait_for(lambda: rows(n2, "SELECT COUNT(*) FROM t") == [[120]], timeout=30, what="catch-up")
        self.assertGreaterEqual(n2.get("/debug/vars?key=store").json()["num_restores"], 1)
        # Restored from the snapshot, so the last database change is its index.
        self.assertGreaterEqual(n2.get("/status?key=store.db_applied_index").json(), 60)
        n1.execute(["INSERT INTO t VALUES(1000)"])
        wait_for(lambda: rows(n2, "SELECT COUNT(*) FROM t") == [[121]], what="log after snapshot")
        n2.kill()
        n2.start(wait_leader=False)
        wait_for(lambda: rows(n2, "SELECT COUNT(*) FROM t") == [[121]], what="restart after install")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
