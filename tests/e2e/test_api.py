"""End-to-end: one real rqlited node, every endpoint, exact JSON.

Expected shapes come from API.md sections 2 and 10 (rqlite's own system
tests). The node runs on free 127.0.0.1 ports and is killed by PID.
"""
import argparse
import gzip
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None


def compact(body):
    return json.loads(body)


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = harness.Node(ARGS.rqlited)
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def setUp(self):
        n = self.node
        r = n.execute(["DROP TABLE IF EXISTS foo", "DROP TABLE IF EXISTS bar",
                       "CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"])
        self.assertEqual(r.status, 200, r.text())

    def test_scenario_create_insert_select(self):
        n = self.node
        r = n.execute(['INSERT INTO foo(name) VALUES("fiona")'])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"results": [{"last_insert_id": 1, "rows_affected": 1}]})
        r = n.query(["SELECT * FROM foo"])
        self.assertEqual(r.json(), {"results": [{"columns": ["id", "name"], "types": ["integer", "text"],
                                                 "values": [[1, "fiona"]]}]})
        self.assertEqual(r.headers.get("Content-Type"), "application/json; charset=utf-8")
        self.assertIn("X-Rqlite-Version", {k.title(): v for k, v in r.headers.items()})

    def test_empty_query_has_no_values(self):
        n = self.node
        n.execute(["CREATE TABLE bar (x TEXT)"])
        r = n.query(["SELECT * FROM bar"])
        self.assertEqual(r.json(), {"results": [{"columns": ["x"], "types": ["text"]}]})

    def test_statement_errors_are_per_statement_with_sqlite_text(self):
        n = self.node
        r = n.execute(["INSERT INTO bar VALUES(1)", 'INSERT INTO foo(name) VALUES("a")', "blah"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"results": [{"error": "no such table: bar"},
                                                {"last_insert_id": 1, "rows_affected": 1},
                                                {"error": 'near "blah": syntax error'}]})

    def test_transaction_rolls_back_everything_on_error(self):
        n = self.node
        r = n.execute(['INSERT INTO foo(name) VALUES("a")', "INSERT INTO nope VALUES(1)"], "?transaction")
        self.assertEqual(r.status, 200)
        results = r.json()["results"]
        self.assertEqual(results[-1], {"error": "no such table: nope"})
        r = n.query(["SELECT COUNT(*) FROM foo"])
        self.assertEqual(r.json()["results"][0]["values"], [[0]])

    def test_parameters_positional_named_blob_and_bool(self):
        n = self.node
        n.execute(["CREATE TABLE bar (i INTEGER, r REAL, t TEXT, b BLOB, flag BOOLEAN)"])
        r = n.execute([["INSERT INTO bar VALUES(?, ?, ?, ?, ?)", 9007199254740993, 1.5, "x", "x'DEADBEEF'", True],
                       ["INSERT INTO bar VALUES(:i, @r, $t, :b, :f)",
                        {"i": 2, "r": 2.25, "t": "named", "b": [1, 2, 255], "f": False}]])
        self.assertEqual(r.status, 200, r.text())
        self.assertNotIn("error", r.text())
        r = n.query(["SELECT * FROM bar ORDER BY i"])
        body = r.json()["results"][0]
        self.assertEqual(body["types"], ["integer", "real", "text", "blob", "boolean"])
        self.assertEqual(body["values"], [[2, 2.25, "named", "AQL/", False],
                                          [9007199254740993, 1.5, "x", "3q2+7w==", True]])
        r = n.query(["SELECT b FROM bar ORDER BY i"], "?blob_array")
        self.assertEqual(r.json()["results"][0]["values"], [[[1, 2, 255]], [[222, 173, 190, 239]]])

    def test_associative_timings_and_raft_index(self):
        n = self.node
        r = n.execute(['INSERT INTO foo(name) VALUES("siobhan")'], "?raft_index")
        self.assertGreater(r.json()["raft_index"], 0)
        r = n.query(["SELECT * FROM foo"], "?associative")
        self.assertEqual(r.json(), {"results": [{"types": {"id": "integer", "name": "text"},
                                                 "rows": [{"id": 1, "name": "siobhan"}]}]})
        r = n.query(["SELECT * FROM foo"], "?timings")
        body = r.json()
        self.assertIsInstance(body["time"], float)
        self.assertIsInstance(body["results"][0]["time"], float)

    def test_get_query_and_text_plain_body(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("fiona")'])
        r = n.get("/db/query?q=" + "SELECT%20name%20FROM%20foo")
        self.assertEqual(r.json()["results"][0]["values"], [["fiona"]])
        r = harness.http("POST", n.url + "/db/query", "SELECT id FROM foo", {"Content-Type": "text/plain"})
        self.assertEqual(r.json()["results"][0]["values"], [[1]])

    def test_every_read_consistency_level(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("fiona")'])
        for level in ["none", "weak", "linearizable", "strong", "auto", "WEAK", "bogus"]:
            r = n.query(["SELECT COUNT(*) FROM foo"], "?level=" + level)
            self.assertEqual(r.status, 200, level)
            self.assertEqual(r.json()["results"][0]["values"], [[1]], level)

    def test_request_endpoint_mixes_reads_and_writes(self):
        n = self.node
        r = n.post("/db/request", ['INSERT INTO foo(name) VALUES("x")', "SELECT name FROM foo"])
        self.assertEqual(r.json(), {"results": [{"last_insert_id": 1, "rows_affected": 1},
                                                {"columns": ["name"], "types": ["text"], "values": [["x"]]}]})

    def test_returning_comes_back_as_rows(self):
        r = self.node.execute(['INSERT INTO foo(name) VALUES("declan") RETURNING id, name'])
        self.assertEqual(r.json()["results"][0]["values"], [[1, "declan"]])

    def test_disallowed_pragma_refuses_whole_request(self):
        n = self.node
        for pragma in ["PRAGMA journal_mode=DELETE", "pragma main.synchronous = 0",
                       "SELECT * FROM pragma_wal_checkpoint()"]:
            r = n.execute(['INSERT INTO foo(name) VALUES("a")', pragma])
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json(), {"results": [], "error": "disallowed pragma"}, pragma)
        r = n.query(["SELECT COUNT(*) FROM foo"])
        self.assertEqual(r.json()["results"][0]["values"], [[0]])

    def test_bad_input_gets_clear_4xx_and_node_keeps_serving(self):
        n = self.node
        self.assertEqual(n.get("/db/execute").status, 405)
        self.assertEqual(n.get("/no/such/path").status, 404)
        r = harness.http("POST", n.url + "/db/execute", "{not json", {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertTrue(r.text().strip())
        self.assertEqual(n.execute([]).status, 400)
        self.assertEqual(n.execute({"a": 1}).status, 400)
        self.assertEqual(n.get("/db/query?q=SELECT%201&timeout=xyz").status, 400)
        r = n.query(["SELECT 1"])
        self.assertEqual(r.status, 200)

    def test_rewrites_shown_by_db_sql(self):
        r = self.node.post("/db/sql", ["INSERT INTO foo(name) VALUES(random())"])
        self.assertEqual(r.status, 200, r.text())
        result = r.json()["results"][0]
        self.assertEqual(result["original"], "INSERT INTO foo(name) VALUES(random())")
        self.assertNotIn("random()", result["rewritten"].lower())

    def test_backup_formats_and_load_round_trip(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("fiona")', 'INSERT INTO foo(name) VALUES("declan")'])
        r = n.get("/db/backup")
        self.assertEqual(r.status, 200)
        image = r.body
        self.assertTrue(image.startswith(b"SQLite format 3\x00"))
        self.assertEqual(image[18:20], b"\x02\x02", "WAL-mode header")
        r = n.get("/db/backup?fmt=delete")
        self.assertEqual(r.body[18:20], b"\x01\x01")
        r = n.get("/db/backup?fmt=sql")
        self.assertTrue(r.text().startswith("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;"), r.text()[:80])
        dump = r.text()
        r = n.get("/db/backup?compress")
        self.assertEqual(gzip.decompress(r.body)[:16], b"SQLite format 3\x00")

        n.execute(["DELETE FROM foo"])
        r = harness.http("POST", n.url + "/db/load", image, {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(n.query(["SELECT COUNT(*) FROM foo"]).json()["results"][0]["values"], [[2]])

        n.execute(["DROP TABLE foo"])
        r = harness.http("POST", n.url + "/db/load", dump, {"Content-Type": "text/plain"})
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(n.query(["SELECT name FROM foo ORDER BY id"]).json()["results"][0]["values"],
                         [["fiona"], ["declan"]])

    def test_corrupt_load_is_refused_and_changes_nothing(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("keep")'])
        image = n.get("/db/backup").body
        truncated = image[: len(image) // 2 + 7]
        r = harness.http("POST", n.url + "/db/load", truncated, {"Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 400, r.text())
        self.assertEqual(n.query(["SELECT name FROM foo"]).json()["results"][0]["values"], [["keep"]])

    def test_queued_writes_with_wait(self):
        n = self.node
        r = n.execute(['INSERT INTO foo(name) VALUES("q1")'], "?queue")
        self.assertEqual(r.status, 200, r.text())
        body = r.json()
        self.assertEqual(body["results"], [])
        self.assertIsInstance(body["sequence_number"], int)
        r = n.execute(['INSERT INTO foo(name) VALUES("q2")'], "?queue&wait&timeout=10s")
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(n.query(["SELECT COUNT(*) FROM foo"]).json()["results"][0]["values"], [[2]])

    def test_status_nodes_readyz_leader(self):
        n = self.node
        r = n.get("/status")
        self.assertEqual(r.status, 200)
        status = r.json()
        self.assertEqual(status["store"]["node_id"], "1")
        r = n.get("/status?key=store.node_id")
        self.assertEqual(r.json(), "1")
        r = n.get("/readyz")
        self.assertEqual(r.status, 200)
        self.assertIn("[+]node ok", r.text())
        self.assertIn("[+]leader ok", r.text())
        r = n.get("/nodes")
        nodes = r.json()
        self.assertTrue(nodes["1"]["leader"])
        self.assertTrue(nodes["1"]["reachable"])
        r = n.get("/nodes?ver=2")
        self.assertEqual(r.json()["nodes"][0]["id"], "1")
        r = n.get("/leader")
        self.assertEqual(r.status, 200, r.text())
        self.assertEqual(r.json()["id"], "1")

    def test_threads_carry_names_for_operators(self):
        # top -H, ps -L, perf and gdb show these: the write path's threads
        # must be told apart in a busy process.
        task_dir = "/proc/%d/task" % self.node.proc.pid
        names = set()
        for tid in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, tid, "comm")) as f:
                    names.add(f.read().strip())
            except FileNotFoundError:
                pass  # a short-lived thread ended meanwhile
        for expected in ("raft-loop", "raft-io-0", "apply", "http-io-0", "http-io-1", "read-0"):
            self.assertIn(expected, names)

    def test_snapshot_endpoint(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("snap")'])
        r = n.post("/snapshot")
        self.assertEqual(r.status, 200, r.text())
        r = n.post("/snapshot")
        self.assertEqual(r.status, 204)

    def test_debug_vars_count_what_happened_with_rqlites_names(self):
        n = self.node
        self.assertEqual(n.execute(['INSERT INTO foo(name) VALUES("counted")']).status, 200)
        self.assertEqual(n.query(["SELECT * FROM foo"]).status, 200)
        self.assertEqual(n.get("/db/backup").status, 200)
        n.execute(['INSERT INTO foo(name) VALUES("snapshotted")'])
        self.assertEqual(n.post("/snapshot").status, 200)
        self.assertEqual(n.get("/status").status, 200)
        r = n.get("/debug/vars")
        self.assertEqual(r.status, 200, r.text())
        expvar = r.json()
        self.assertTrue(set(expvar) >= {"cmdline", "store", "db", "http", "cluster", "proxy", "queue"}, sorted(expvar))
        self.assertEqual(expvar["cmdline"][0], ARGS.rqlited)
        self.assertIn(n.data_dir, expvar["cmdline"])
        for group, counters in expvar.items():
            if group != "cmdline":
                self.assertTrue(all(isinstance(v, int) for v in counters.values()), (group, counters))
        http, db, store = expvar["http"], expvar["db"], expvar["store"]
        self.assertGreaterEqual(http["executions"], 1)
        self.assertGreaterEqual(http["execute_stmts_rx"], 1)
        self.assertGreaterEqual(http["queries"], 1)
        self.assertGreaterEqual(http["backups"], 1)
        self.assertGreaterEqual(http["user_snapshots"], 1)
        self.assertGreaterEqual(http["num_status"], 1)
        self.assertGreaterEqual(http["auth_ok"], 1)  # counted without -auth too, as rqlite does
        self.assertEqual(http["auth_fail"], 0)
        self.assertGreaterEqual(db["executions"], 1)
        self.assertGreaterEqual(db["queries"], 1)
        self.assertGreaterEqual(db["checkpoints"], 1)
        self.assertGreaterEqual(store["num_backups"], 1)
        self.assertGreaterEqual(store["num_user_snapshots"], 1)
        self.assertGreaterEqual(store["num_snapshots"], 1)
        self.assertGreaterEqual(store["leader_changes_observed"], 1)
        # Pre-registered: present at 0 before anything happened.
        for group, key in [("store", "num_restores"), ("store", "num_joins"), ("cluster", "num_join_req"),
                           ("proxy", "remote_executions"), ("queue", "objects_rx"), ("http", "boot")]:
            self.assertEqual(expvar[group][key], 0, (group, key))
        # Our own keys from before the rqlite counters stay.
        for key in ("applied_index", "commit_index", "snapshots_taken"):
            self.assertIn(key, store)
        self.assertEqual(n.get("/debug/vars?key=queue").json()["num_flush"], 0)

    def test_status_carries_rqlites_store_and_sqlite_keys(self):
        n = self.node
        self.assertEqual(n.execute(['INSERT INTO foo(name) VALUES("status")']).status, 200)
        self.assertEqual(n.get("/db/backup").status, 200)
        status = n.get("/status").json()
        store = status["store"]
        self.assertIsInstance(store["fsm_index"], int)
        self.assertGreaterEqual(store["fsm_index"], store["db_applied_index"])
        self.assertGreater(store["db_applied_index"], 0)
        self.assertIsInstance(store["fsm_term"], int)
        self.assertRegex(store["fsm_update_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(store["trailing_logs"], store["snapshot_threshold"] * 5 // 4)
        self.assertEqual(store["nodes"], [{"id": "1", "addr": n.raft_addr, "suffrage": "Voter"}])
        self.assertRegex(store["dir_size_friendly"], r"^\d+(\.\d)? (B|kB|MB|GB)$")
        self.assertEqual(store["db_conf"], {"fk_constraints": False})
        raft = store["raft"]
        self.assertIsInstance(raft["last_log_term"], int)
        self.assertGreater(raft["log_size"], 0)
        sqlite = store["sqlite3"]
        self.assertIn("ENABLE_FTS5", sqlite["compile_options"])
        self.assertEqual(set(sqlite["mem_stats"]), {"max_page_count", "page_count", "page_size", "hard_heap_limit",
                                                    "soft_heap_limit", "cache_size", "freelist_count"})
        self.assertEqual(sqlite["db_size"], sqlite["mem_stats"]["page_count"] * sqlite["mem_stats"]["page_size"])
        self.assertIsInstance(sqlite["db_size_friendly"], str)
        self.assertGreater(sqlite["size"], 0)
        self.assertRegex(sqlite["last_modified"], r"Z$")
        db_path = os.path.join(n.data_dir, "db.sqlite")
        self.assertEqual(sqlite["rw_dsn"], "file:%s?_fk=false&_journal=WAL&_sync=0" % db_path)
        self.assertEqual(sqlite["ro_dsn"], "file:%s?_query_only=true&mode=ro" % db_path)
        self.assertEqual(sqlite["pragmas"]["rw"], {"synchronous": "0", "journal_mode": "wal", "foreign_keys": "0",
                                                   "wal_autocheckpoint": "0", "busy_timeout": "5000"})
        self.assertEqual(sqlite["pragmas"]["ro"]["journal_mode"], "wal")
        self.assertEqual(sqlite["transaction"], {"rw": False, "ro": False})
        for role in ("rw", "ro"):
            pool = sqlite["conn_pool_stats"][role]
            self.assertTrue(all(isinstance(pool[k], int) for k in ("open_connections", "in_use", "idle",
                                                                    "wait_count", "wait_duration")), pool)
        self.assertEqual(sqlite["conn_pool_stats"]["rw"]["max_open_connections"], 1)
        self.assertEqual(status["cluster"], {"addr": n.raft_addr, "api_addr": n.http_addr, "https": "false"})
        self.assertRegex(status["node"]["current_time"], r"Z$")
        self.assertIsInstance(status["last_backup_time"], str)
        self.assertGreater(status["runtime"]["num_threads"], 1)
        self.assertEqual(n.get("/status?key=store.sqlite3.pragmas.rw.synchronous").json(), "0")

    def test_status_answers_at_once_while_a_long_write_runs(self):
        n = self.node
        import threading
        # Seconds on the writer, which the apply thread holds throughout
        # (a write through the log that reads only, so the file stays small).
        slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000000) SELECT count(*) FROM c"
        writer = threading.Thread(target=n.execute, args=([slow],))
        writer.start()
        try:
            time.sleep(0.3)
            seen_busy = False
            for _ in range(5):
                before = time.time()
                r = n.get("/status", timeout=10)
                self.assertEqual(r.status, 200)
                self.assertLess(time.time() - before, 1.0, "/status waited behind the write")
                seen_busy |= r.json()["store"]["sqlite3"]["conn_pool_stats"]["rw"]["in_use"] == 1
            self.assertTrue(writer.is_alive(), "the write was too short to show anything")
            self.assertTrue(seen_busy)
        finally:
            writer.join(120)

    def test_db_file_is_readable_live_by_another_process(self):
        n = self.node
        n.execute(['INSERT INTO foo(name) VALUES("live")'])
        conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "db.sqlite"), uri=True)
        try:
            self.assertEqual(conn.execute("SELECT name FROM foo").fetchall(), [("live",)])
        finally:
            conn.close()


class LifecycleTest(unittest.TestCase):
    def test_ddl_on_a_fresh_node_gives_empty_object(self):
        # SQLite's change counters are per connection and DDL leaves them as
        # they were, so (as with rqlite's driver) only a DDL statement before
        # any write reports {}.
        node = harness.Node(ARGS.rqlited)
        node.start()
        try:
            r = node.execute(["CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"])
            self.assertEqual(r.json(), {"results": [{}]})
        finally:
            node.cleanup()

    def test_sigterm_exits_cleanly_and_restart_keeps_data(self):
        node = harness.Node(ARGS.rqlited)
        node.start()
        try:
            node.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)",
                          'INSERT INTO foo(name) VALUES("fiona")'])
            node.proc.send_signal(signal.SIGTERM)
            self.assertEqual(node.proc.wait(timeout=20), 0)
            node.start()
            r = node.query(["SELECT name FROM foo"])
            self.assertEqual(r.json()["results"][0]["values"], [["fiona"]])
        finally:
            node.cleanup()

    def test_boot_loads_a_database_file(self):
        src = tempfile.mktemp(suffix=".sqlite")
        conn = sqlite3.connect(src)
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO big(v) VALUES(?)", [("row%d" % i,) for i in range(1000)])
        conn.commit()
        conn.close()
        node = harness.Node(ARGS.rqlited)
        node.start()
        try:
            with open(src, "rb") as f:
                r = harness.http("POST", node.url + "/boot", f.read(), {"Content-Type": "application/octet-stream"})
            self.assertEqual(r.status, 200, r.text())
            r = node.query(["SELECT COUNT(*) FROM big"])
            self.assertEqual(r.json()["results"][0]["values"], [[1000]])
            node.stop()
            node.start()
            r = node.query(["SELECT COUNT(*) FROM big"])
            self.assertEqual(r.json()["results"][0]["values"], [[1000]])
        finally:
            node.cleanup()
            os.unlink(src)

    def test_flags_are_validated(self):
        import subprocess
        res = subprocess.run([ARGS.rqlited, "-no-such-flag", "/tmp/x"], capture_output=True, text=True)
        self.assertEqual(res.returncode, 2)
        self.assertIn("flag provided but not defined: -no-such-flag", res.stderr)
        res = subprocess.run([ARGS.rqlited, "/tmp/a", "/tmp/b"], capture_output=True, text=True)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("/tmp/b", res.stderr)


class BuildStampTest(unittest.TestCase):
    """-version and /status name the git commit and branch the binary was
    built from; a tree without .git (a tarball) says "unknown"."""

    SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

    def git(self, *args):
        import subprocess
        return subprocess.run(["git", "-C", self.SOURCE, *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    def test_version_and_status_name_the_commit_built(self):
        import subprocess
        ran = subprocess.run([ARGS.rqlited, "-version"], capture_output=True, text=True)
        version = ran.stdout + ran.stderr
        if not os.path.isdir(os.path.join(self.SOURCE, ".git")):
            self.assertIn("commit unknown", version)
            return
        # The binary is built from the checkout's HEAD (a build runs the stamp
        # step every time); a commit made after the build would differ.
        head = self.git("rev-parse", "HEAD")
        self.assertIn("(commit %s, branch %s," % (head, self.git("rev-parse", "--abbrev-ref", "HEAD")), version)
        self.assertRegex(version, r", built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)")
        with harness.Node(ARGS.rqlited, node_id="1") as node:
            build = node.get("/status").json()["build"]
            self.assertEqual(build["commit"], head)
            self.assertRegex(build["build_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_a_tree_without_git_says_unknown(self):
        import shutil
        import subprocess
        cmake = shutil.which("cmake")
        if cmake is None:
            self.skipTest("cmake not found")
        work = tempfile.mkdtemp(prefix="rqe2e-stamp-")
        try:
            out = os.path.join(work, "build_info.cc")
            subprocess.run([cmake, "-DSOURCE_DIR=" + work, "-DOUT=" + out, "-DVERSION=v9.9.9", "-P",
                            os.path.join(self.SOURCE, "cmake", "build_info.cmake")], check=True)
            with open(out) as f:
                text = f.read()
            self.assertIn('"v9.9.9", "unknown", "unknown"', text)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
