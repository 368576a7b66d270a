"""-extensions-path with real SQLite extensions from Debian: PCRE's REGEXP
(sqlite3-pcre, given as a directory) and SpatiaLite (libsqlite3-mod-spatialite,
given inside a zip file), loaded by both nodes of a cluster; writes that call
them replicate, and reads on the follower use them. A library that is not
one stops the node with a message naming it. sqlite-vec (vec0.so from the
npm package sqlite-vec-linux-x64, given as a flat .tar.gz) on a 3-node
cluster: a vec0 table filled through the API answers the same KNN query on
every node at level none. Skips, saying which, when a package is missing
(scripts/install-deps.sh --tests installs them).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
PCRE = "/usr/lib/sqlite3/pcre.so"
SPATIALITE = "/usr/lib/x86_64-linux-gnu/mod_spatialite.so"
MISSING = next((p + " not installed" for p in (PCRE, SPATIALITE) if not os.path.exists(p)), None)
VEC0 = os.path.join(os.environ.get("RQ_TEST_NPM_PREFIX", "/usr/local/lib/rqlite-cpp-tests"),
                    "node_modules", "sqlite-vec-linux-x64", "vec0.so")
VEC0_MISSING = None if os.path.exists(VEC0) else VEC0 + " not installed (npm sqlite-vec-linux-x64)"


def rows(node, sql, level="none"):
    reply = node.post("/db/query?level=" + level, [sql]).json()
    result = reply["results"][0]
    if "error" in result:
        raise AssertionError(result["error"])
    return result.get("values", [])


@unittest.skipIf(MISSING, MISSING or "")
class ExtensionsTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-ext-")
        self.nodes = []
        pcre_dir = os.path.join(self.work, "pcre")
        os.mkdir(pcre_dir)
        shutil.copy(PCRE, pcre_dir)
        spatial_zip = os.path.join(self.work, "spatialite.zip")
        with zipfile.ZipFile(spatial_zip, "w") as z:
            z.write(SPATIALITE, "lib/mod_spatialite.so")
        self.flag = ["-extensions-path", pcre_dir + "," + spatial_zip]

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_both_nodes_load_them_and_writes_that_use_them_replicate(self):
        leader = harness.Node(ARGS.rqlited, node_id="1", extra_args=self.flag)
        self.nodes.append(leader)
        leader.start()
        follower = harness.Node(ARGS.rqlited, node_id="2", extra_args=self.flag + ["-join", leader.raft_addr])
        self.nodes.append(follower)
        follower.start()
        reply = leader.execute([
            "CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, geom TEXT)",
            "INSERT INTO places(name, geom) VALUES('fiona', ST_AsText(MakePoint(1.5, 2)))",
            "INSERT INTO places(name, geom) VALUES('declan', ST_AsText(MakePoint(-3, 4)))",
            "UPDATE places SET name = upper(name) WHERE name REGEXP '^fi'",
        ]).json()
        for result in reply["results"]:
            self.assertNotIn("error", result, reply)
        expected = [["FIONA", "POINT(1.5 2)"], ["declan", "POINT(-3 4)"]]
        self.assertEqual(rows(leader, "SELECT name, geom FROM places ORDER BY id", "strong"), expected)
        harness.wait_for(lambda: rows(follower, "SELECT name, geom FROM places ORDER BY id") == expected,
                         what="the rows on the follower")
        # Reads on the follower call the extensions too.
        self.assertEqual(rows(follower, "SELECT name FROM places WHERE name REGEXP '^d'"), [["declan"]])
        version = rows(follower, "SELECT spatialite_version()")[0][0]
        self.assertRegex(version, r"^\d+\.\d+")
        # The archive was unpacked into the node's own directory.
        self.assertTrue(os.path.exists(os.path.join(follower.data_dir, "extensions", "spatialite.zip",
                                                    "mod_spatialite.so")))

    def test_a_library_that_is_not_one_stops_the_node_naming_it(self):
        bogus = os.path.join(self.work, "bogus.so")
        with open(bogus, "w") as f:
            f.write("not a library")
        data = tempfile.mkdtemp(prefix="rqe2e-ext-data-")
        try:
            ran = subprocess.run([ARGS.rqlited, "-node-id", "1", "-http-addr", "127.0.0.1:%d" % harness.free_port(),
                                  "-raft-addr", "127.0.0.1:%d" % harness.free_port(), "-extensions-path", bogus, data],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(ran.returncode, 1)
            self.assertIn("bogus.so", ran.stderr + ran.stdout)
        finally:
            shutil.rmtree(data, ignore_errors=True)


@unittest.skipIf(VEC0_MISSING, VEC0_MISSING or "")
class SqliteVecTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-vec-")
        self.nodes = []
        archive = os.path.join(self.work, "vec.tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(VEC0, "vec0.so")
        self.flag = ["-extensions-path", archive]

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_knn_query_answers_alike_on_all_three_nodes(self):
        first = harness.Node(ARGS.rqlited, node_id="1", extra_args=self.flag)
        self.nodes.append(first)
        first.start()
        for node_id in ("2", "3"):
            node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=self.flag + ["-join", first.raft_addr])
            self.nodes.append(node)
            node.start()
        statements = ["CREATE VIRTUAL TABLE items USING vec0(embedding float[4])"]
        vectors = {1: [0.1, 0.1, 0.1, 0.1], 2: [1.0, 0.0, 0.0, 0.0], 3: [0.9, 0.1, 0.0, 0.0],
                   4: [-1.0, 0.5, 0.2, 0.0], 5: [0.0, 0.0, 1.0, 1.0]}
        for rowid, vector in vectors.items():
            statements.append(["INSERT INTO items(rowid, embedding) VALUES(?, ?)", rowid, str(vector)])
        reply = first.execute(statements).json()
        for result in reply["results"]:
            self.assertNotIn("error", result, reply)
        # k = 3 rather than LIMIT: SQLite 3.40 (Debian 12) does not hand LIMIT to virtual tables.
        knn = ("SELECT rowid, round(distance, 4) FROM items WHERE embedding MATCH '[1.0, 0.05, 0.0, 0.0]' AND k = 3 "
               "ORDER BY distance")
        expected = rows(first, knn, "strong")
        self.assertEqual([row[0] for row in expected], [2, 3, 1])
        for node in self.nodes:
            harness.wait_for(lambda: rows(node, knn) == expected, what="the KNN answer on node " + node.node_id)
        version = rows(self.nodes[2], "SELECT vec_version()")[0][0]
        self.assertTrue(version.startswith("v"), version)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
