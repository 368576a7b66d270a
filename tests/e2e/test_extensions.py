"""-extensions-path with real SQLite extensions from Debian: PCRE's REGEXP
(sqlite3-pcre, given as a directory) and SpatiaLite (libsqlite3-mod-spatialite,
given inside a zip file), loaded by both nodes of a cluster; writes that call
them replicate, and reads on the follower use them. A library that is not
one stops the node with a message naming it. Skips, saying which, when a
package is missing (scripts/install-deps.sh --tests installs them).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
PCRE = "/usr/lib/sqlite3/pcre.so"
SPATIALITE = "/usr/lib/x86_64-linux-gnu/mod_spatialite.so"
MISSING = next((p + " not installed" for p in (PCRE, SPATIALITE) if not os.path.exists(p)), None)


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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
