"""Switching from Go rqlite in place: rqlited started on the data directories
real Go rqlite releases left (tests/fixtures/go-rqlite, copied into a
temporary directory first) converts them and forms the same cluster.

- v8.28.4, 3 nodes with snapshots and log tails: a leader is elected, /nodes
  lists the same ids and Raft addresses, level=strong queries return exactly
  what Go rqlite returned before it stopped, new writes reach every node's
  db.sqlite, the originals are under go-rqlite/, and a restart starts on our
  own formats (no second conversion).
- v5.7.0, the seed's 2-node scenario (node 2 restarted with -join, as it was
  started): the same.
- v10's snapshot store (wsnapshots/: a full data.db, then an incremental
  snapshot of two SQLite WAL files with CRC32C sidecars), made from the
  v8.28.4 directories the way v10's own upgrader lays them out, with the
  last 40 rows only in the WALs: the same results, so both WALs were
  replayed in order. A damaged WAL and an interrupted consolidation
  (REAP_PLAN) are refused.
- Bad input is refused with a message naming the file, and the directory is
  left exactly as it was: a truncated raft.db, a damaged BoltDB page, a
  snapshot database that fails PRAGMA integrity_check, a log missing the
  entries after its snapshot, files of neither program, and a mix of both.
- A crash during the conversion: a half-built upgrade.tmp is discarded and
  the conversion done again; moves cut short after the commit point
  (upgrade.ready) are finished on the next start.

The Raft addresses are the ones the fixtures' clusters had (127.0.0.1:16002
...): members find each other by the addresses in the converted log.
"""
import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "go-rqlite")
V8 = "v8.28.4-3node"
V5 = "v5.7.0-seed"


def tree_digest(path):
    """Every file under path with its sha256: equal digests, unchanged tree."""
    out = {}
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = hashlib.sha256(f.read()).hexdigest()
        for name in dirs:
            out.setdefault(os.path.relpath(os.path.join(root, name), path) + "/", "dir")
    return out


def strong(node, sql):
    return node.post("/db/query?level=strong", [sql]).json()


def crc32c(data):
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def write_crc_sidecar(path, json_format=True):
    with open(path, "rb") as f:
        crc = "%08x" % crc32c(f.read())
    with open(path + ".crc32", "w") as f:
        f.write(json.dumps({"crc": crc, "type": "castagnoli"}) if json_format else crc)


def to_v10_layout(data_dir):
    """Rewrites a v8 rsnapshots/ store as v10's wsnapshots/: the snapshot's
    database without foo's last 40 rows becomes an older full snapshot, and
    the snapshot itself becomes incremental, two WAL files that put those
    rows back (the second made on top of the first). Returns the WAL paths."""
    rs = os.path.join(data_dir, "rsnapshots")
    snap_id = [n for n in os.listdir(rs) if os.path.isdir(os.path.join(rs, n))][0]
    with open(os.path.join(rs, snap_id, "meta.json")) as f:
        meta = json.load(f)
    term, index, millis = snap_id.split("-")
    ws = os.path.join(data_dir, "wsnapshots")
    full_id = "%s-%d-%d" % (term, int(index) - 1, int(millis) - 1000)
    full_dir, inc_dir = os.path.join(ws, full_id), os.path.join(ws, snap_id)
    os.makedirs(full_dir)
    os.makedirs(inc_dir)
    original = os.path.join(rs, snap_id + ".db")
    work = os.path.join(data_dir, "work.db")
    shutil.copy(original, work)
    con = sqlite3.connect(work, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    top = con.execute("SELECT max(id) FROM foo").fetchone()[0]
    con.execute("DELETE FROM foo WHERE id > ?", (top - 40,))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(work, os.path.join(full_dir, "data.db"))
    con.execute("ATTACH ? AS snap", ("file:%s?mode=ro" % original,))
    wals = []
    for n, (low, high) in enumerate([(top - 40, top - 20), (top - 20, top)]):
        con.execute("INSERT INTO foo SELECT * FROM snap.foo WHERE id > ? AND id <= ?", (low, high))
        wal = os.path.join(inc_dir, "%024d-%06d.wal" % (int(millis) * 1000000, n + 1))
        shutil.copy(work + "-wal", wal)
        wals.append(wal)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for name in ("work.db", "work.db-wal", "work.db-shm"):
        if os.path.exists(os.path.join(data_dir, name)):
            os.remove(os.path.join(data_dir, name))
    write_crc_sidecar(os.path.join(full_dir, "data.db"), json_format=False)
    for wal in wals:
        write_crc_sidecar(wal)
    older = dict(meta, ID=full_id, Index=int(index) - 1)
    with open(os.path.join(full_dir, "meta.json"), "w") as f:
        json.dump(older, f)
    with open(os.path.join(inc_dir, "meta.json"), "w") as f:
        json.dump(meta, f)
    shutil.rmtree(rs)
    os.makedirs(os.path.join(data_dir, "wal-staging"))
    with open(os.path.join(data_dir, "clean_snapshot"), "w") as f:
        json.dump({"mod_time": "2026-05-01T10:00:00Z", "size": 36864, "index": int(index), "term": int(term)}, f)
    return wals


def count_rows(db_path, sql):
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


class UpgradeTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-upgrade-")
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def copy(self, fixture):
        dest = os.path.join(self.work, fixture)
        shutil.copytree(os.path.join(FIXTURES, fixture), dest)
        for root, dirs, files in os.walk(dest):
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
        return dest

    def node(self, data_dir, node_id, raft_port, extra=None):
        n = harness.Node(ARGS.rqlited, node_id=node_id, data_dir=data_dir, raft_port=raft_port,
                         extra_args=extra or [])
        self.nodes.append(n)
        return n

    def start_all(self, nodes):
        for n in nodes:
            n.start(wait_leader=False)
        harness.wait_for(lambda: harness.leader_of(nodes) is not None, timeout=30, what="a leader")
        for n in nodes:
            n.wait_ready()

    def assert_write_reaches_every_file(self, via, nodes, name):
        reply = via.execute([["INSERT INTO foo(name, score) VALUES(?, 1.5)", name]]).json()
        self.assertNotIn("error", reply["results"][0], reply)
        for n in nodes:
            harness.wait_for(lambda n=n: count_rows(os.path.join(n.data_dir, "db.sqlite"),
                                                    "SELECT count(*) FROM foo WHERE name='%s'" % name) == 1,
                             what="the write on node " + n.node_id)

    def expected(self, root, name):
        with open(os.path.join(root, name)) as f:
            return json.load(f)["results"][0]["values"]

    def test_v8_three_node_cluster_comes_back_with_its_members_data_and_history(self):
        root = self.copy(V8)
        nodes = [self.node(os.path.join(root, "data.%d" % i), str(i), 16000 + 2 * i) for i in (1, 2, 3)]
        self.start_all(nodes)
        for n in nodes:
            self.assertIn("converted from rqlite v8.0-v9.4", n.read_log())

        listed = nodes[0].get("/nodes").json()
        self.assertEqual({k: v["addr"] for k, v in listed.items()},
                         {"1": "127.0.0.1:16002", "2": "127.0.0.1:16004", "3": "127.0.0.1:16006"})
        self.assertTrue(all(v["voter"] and v["reachable"] for v in listed.values()), listed)

        foo = strong(nodes[1], "SELECT count(*), sum(score), max(id) FROM foo")
        self.assertEqual(foo["results"][0]["values"], self.expected(root, "expected-foo.json"))
        bar = strong(nodes[2], "SELECT k, v FROM bar ORDER BY k")
        self.assertEqual(bar["results"][0]["values"], self.expected(root, "expected-bar.json"))
        self.assertEqual(strong(nodes[0], "SELECT name FROM foo WHERE id=1")["results"][0]["values"], [["fiona"]])

        # The originals are kept, unchanged, for going back.
        for i in (1, 2, 3):
            aside = os.path.join(root, "data.%d" % i, "go-rqlite")
            original = os.path.join(FIXTURES, V8, "data.%d" % i)
            self.assertEqual(tree_digest(aside), tree_digest(original))
            self.assertFalse(os.path.exists(os.path.join(root, "data.%d" % i, "raft.db")))

        # New writes reach every node's file.
        self.assert_write_reaches_every_file(nodes[2], nodes, "after-upgrade")

        # A restart starts on our formats: no second conversion, same data.
        for n in nodes:
            n.stop()
        for n in nodes:
            with open(n.log_path, "wb"):
                pass
        self.start_all(nodes)
        for n in nodes:
            self.assertNotIn("upgrade:", n.read_log())
        after = strong(nodes[0], "SELECT count(*) FROM foo")["results"][0]["values"]
        self.assertEqual(after, [[self.expected(root, "expected-foo.json")[0][0] + 1]])

    def test_v10_incremental_snapshots_are_replayed_and_the_cluster_comes_back(self):
        root = self.copy(V8)
        dirs = [os.path.join(root, "data.%d" % i) for i in (1, 2, 3)]
        for d in dirs:
            to_v10_layout(d)
        originals = {d: tree_digest(d) for d in dirs}
        nodes = [self.node(d, str(i), 16000 + 2 * i) for i, d in zip((1, 2, 3), dirs)]
        self.start_all(nodes)
        for n in nodes:
            log = n.read_log()
            self.assertIn("converted from rqlite v10+", log)
            self.assertIn("2 WAL file(s) replayed", log)
        foo = strong(nodes[1], "SELECT count(*), sum(score), max(id) FROM foo")
        self.assertEqual(foo["results"][0]["values"], self.expected(root, "expected-foo.json"))
        bar = strong(nodes[2], "SELECT k, v FROM bar ORDER BY k")
        self.assertEqual(bar["results"][0]["values"], self.expected(root, "expected-bar.json"))
        listed = nodes[0].get("/nodes").json()
        self.assertEqual({k: v["addr"] for k, v in listed.items()},
                         {"1": "127.0.0.1:16002", "2": "127.0.0.1:16004", "3": "127.0.0.1:16006"})
        for d in dirs:
            aside = os.path.join(d, "go-rqlite")
            self.assertEqual(tree_digest(aside), originals[d])
            for name in ("wsnapshots", "clean_snapshot", "wal-staging", "raft.db"):
                self.assertFalse(os.path.exists(os.path.join(d, name)), name)
        self.assert_write_reaches_every_file(nodes[0], nodes, "after-v10")

    def test_a_damaged_v10_wal_is_refused_naming_it(self):
        d = os.path.join(self.copy(V8), "data.1")
        wals = to_v10_layout(d)
        with open(wals[1], "r+b") as f:
            f.seek(32 + 24 + 200)  # inside the first frame's page
            byte = f.read(1)
            f.seek(32 + 24 + 200)
            f.write(bytes([byte[0] ^ 0x10]))
        write_crc_sidecar(wals[1])  # the sidecar agrees: the WAL's own checksums catch it
        self.assert_refused(d, "1", 16002, os.path.basename(wals[1]), "checksum mismatch")

    def test_an_interrupted_v10_consolidation_is_refused(self):
        d = os.path.join(self.copy(V8), "data.1")
        to_v10_layout(d)
        with open(os.path.join(d, "wsnapshots", "REAP_PLAN"), "w") as f:
            f.write("{}")
        self.assert_refused(d, "1", 16002, "REAP_PLAN", "Start that Go rqlite once more")

    def test_v5_seed_cluster_comes_back_and_node_2_rejoins_as_it_was_started(self):
        root = self.copy(V5)
        node1 = self.node(os.path.join(root, "node.1"), "1", 16012)
        node2 = self.node(os.path.join(root, "node.2"), "2", 16014, ["-join", node1.url])
        self.start_all([node1, node2])
        for n in (node1, node2):
            self.assertIn("converted from rqlite v5-v8", n.read_log())
        listed = node2.get("/nodes").json()
        self.assertEqual({k: v["addr"] for k, v in listed.items()}, {"1": "127.0.0.1:16012", "2": "127.0.0.1:16014"})
        self.assertEqual(strong(node2, "SELECT count(*) FROM foo")["results"][0]["values"],
                         self.expected(root, "expected-foo.json"))
        self.assertEqual(strong(node1, "SELECT name FROM foo WHERE id=1")["results"][0]["values"], [["fiona"]])
        reply = node1.execute(["INSERT INTO foo(name) VALUES('declan')"]).json()
        self.assertNotIn("error", reply["results"][0], reply)
        harness.wait_for(lambda: count_rows(os.path.join(node2.data_dir, "db.sqlite"),
                                            "SELECT count(*) FROM foo WHERE name='declan'") == 1,
                         what="the write on node 2")

    # --- a conversion interrupted by a crash ---

    def test_a_half_built_conversion_is_discarded_and_done_again(self):
        d = os.path.join(self.copy(V5), "node.1")
        os.makedirs(os.path.join(d, "upgrade.tmp", "raft", "log"))
        with open(os.path.join(d, "upgrade.tmp", "db.sqlite"), "wb") as f:
            f.write(b"half written")
        n = self.node(d, "1", 16012)
        n.start(wait_leader=False)
        self.assertIn("discarding an unfinished conversion", n.read_log())
        self.assertFalse(os.path.exists(os.path.join(d, "upgrade.tmp")))
        # Node 1 alone is no quorum of two: node 2 (converted too) makes one.
        node2 = self.node(os.path.join(os.path.dirname(d), "node.2"), "2", 16014)
        node2.start(wait_leader=False)
        harness.wait_for(lambda: harness.leader_of([n, node2]) is not None, timeout=30, what="a leader")
        self.assertEqual(strong(n, "SELECT count(*) FROM foo")["results"][0]["values"],
                         self.expected(os.path.dirname(d), "expected-foo.json"))

    def test_moves_cut_short_after_the_commit_point_are_finished(self):
        root = self.copy(V5)
        d = os.path.join(root, "node.1")
        n = self.node(d, "1", 16012)
        n.start(wait_leader=False)
        n.stop()
        # Put the directory back where a crash in the middle of the moves
        # would have left it: our files still in upgrade.ready, one Go file
        # not yet moved aside.
        ready = os.path.join(d, "upgrade.ready")
        os.mkdir(ready)
        for name in ("db.sqlite", "raft"):
            os.rename(os.path.join(d, name), os.path.join(ready, name))
        for name in ("db.sqlite-wal", "db.sqlite-shm"):
            if os.path.exists(os.path.join(d, name)):
                os.unlink(os.path.join(d, name))
        os.rename(os.path.join(d, "go-rqlite", "raft.db"), os.path.join(d, "raft.db"))
        with open(os.path.join(ready, "PLAN"), "w") as f:
            f.write("go-rqlite\nraft.db\ndb.sqlite\n")
        with open(n.log_path, "wb"):
            pass
        n.start(wait_leader=False)
        self.assertIn("finishing an interrupted conversion", n.read_log())
        self.assertNotIn("converted from", n.read_log())
        self.assertFalse(os.path.exists(ready))
        self.assertFalse(os.path.exists(os.path.join(d, "raft.db")))
        self.assertEqual(tree_digest(os.path.join(d, "go-rqlite")), tree_digest(os.path.join(FIXTURES, V5, "node.1")))
        node2 = self.node(os.path.join(root, "node.2"), "2", 16014)
        node2.start(wait_leader=False)
        harness.wait_for(lambda: harness.leader_of([n, node2]) is not None, timeout=30, what="a leader")
        self.assertEqual(strong(n, "SELECT count(*) FROM foo")["results"][0]["values"],
                         self.expected(root, "expected-foo.json"))

    # --- refusals: the message names the file, nothing changes ---

    def assert_refused(self, data_dir, node_id, raft_port, *needles):
        before = tree_digest(data_dir)
        n = self.node(data_dir, node_id, raft_port)
        with self.assertRaises(RuntimeError) as raised:
            n.start(wait_leader=False, timeout=15)
        for needle in needles:
            self.assertIn(needle, str(raised.exception))
        self.assertNotEqual(n.proc.returncode, 0)
        self.assertEqual(tree_digest(data_dir), before)

    def test_a_truncated_raft_db_is_refused(self):
        d = os.path.join(self.copy(V8), "data.2")
        with open(os.path.join(d, "raft.db"), "r+b") as f:
            f.truncate(4096 * 3 + 100)
        self.assert_refused(d, "2", 16004, "raft.db", "nothing was changed")

    def test_a_damaged_bolt_page_is_refused(self):
        d = os.path.join(self.copy(V5), "node.1")
        path = os.path.join(d, "raft.db")
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            for page in range(2, len(data) // 4096):  # past both meta pages
                data[page * 4096 + 8:page * 4096 + 16] = b"\xff" * 8  # flags and count
            f.seek(0)
            f.write(data)
        self.assert_refused(d, "1", 16012, "raft.db")

    def test_a_snapshot_that_fails_integrity_check_is_refused(self):
        d = os.path.join(self.copy(V8), "data.1")
        snap = os.path.join(d, "rsnapshots", "2-346-1796584516259.db")
        with open(snap, "r+b") as f:
            f.seek(4096)  # page 2 is foo's b-tree root: break its page header
            f.write(b"\x00" * 12)
        self.assert_refused(d, "1", 16002, "2-346-1796584516259.db")

    def test_a_log_missing_the_entries_after_its_snapshot_is_refused(self):
        d = os.path.join(self.copy(V8), "data.1")
        meta_path = os.path.join(d, "rsnapshots", "2-346-1796584516259", "meta.json")
        with open(meta_path) as f:
            meta = json.load(f)
        # The log holds 267..348: a snapshot at 200 leaves 201..266 missing.
        meta["Index"] = 200
        with open(meta_path, "w") as f:
            json.dump(meta, f)
        self.assert_refused(d, "1", 16002, "raft.db", "entries are missing")

    def test_files_of_neither_program_are_refused_by_name(self):
        d = os.path.join(self.work, "strange")
        os.mkdir(d)
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not a database")
        self.assert_refused(d, "1", harness.free_port(), "notes.txt", "refusing")

    def test_go_and_our_files_together_are_refused(self):
        d = os.path.join(self.copy(V5), "node.1")
        os.makedirs(os.path.join(d, "raft", "log"))
        self.assert_refused(d, "1", 16012, "both Go rqlite's files", "raft/log")

    def test_a_wrong_node_id_is_refused_naming_the_owner(self):
        d = os.path.join(self.copy(V8), "data.3")
        n = harness.Node(ARGS.rqlited, node_id="9", data_dir=d, raft_port=16006)
        self.nodes.append(n)
        with self.assertRaises(RuntimeError) as raised:
            n.start(wait_leader=False, timeout=15)
        self.assertIn("start it with -node-id 3", str(raised.exception))
        self.assertTrue(os.path.exists(os.path.join(d, "raft.db")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
