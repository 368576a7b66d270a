"""-auto-backup and -auto-restore against a real S3-compatible server: s3rver
(npm, installed by scripts/install-deps.sh --tests under
/usr/local/lib/rqlite-cpp-tests), started here on 127.0.0.1 with a free
port. Objects are read back with boto3 (Debian's python3-boto3, so run with
/usr/bin/python3), gunzipped and checked with PRAGMA integrity_check and
their rows. A 3-node cluster uploads from its leader only; an unchanged
database is not uploaded again; after the leader is killed the next leader
continues the schedule. A new node restores from the object; a missing or
corrupt object stops it (exit 1) unless continue_on_failure.
"""
import argparse
import gzip
import json
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
S3RVER = os.path.join(os.environ.get("RQ_TEST_NPM_PREFIX", "/usr/local/lib/rqlite-cpp-tests"),
                      "node_modules", ".bin", "s3rver")
BUCKET = "rqlite-backups"
KEY = "cluster/backup.sqlite.gz"

try:
    import boto3  # noqa: F401
    BOTO = None
except ImportError:
    BOTO = "python3-boto3 is not importable; run with /usr/bin/python3"
MISSING = BOTO or (None if os.access(S3RVER, os.X_OK) else "s3rver not installed at " + S3RVER)


@unittest.skipIf(MISSING, MISSING or "")
class AutoBackupTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-s3-")
        self.nodes = []
        port = harness.free_port()
        self.endpoint = "http://127.0.0.1:%d" % port
        self.s3_log = open(os.path.join(self.work, "s3rver.log"), "wb")
        self.s3rver = subprocess.Popen([S3RVER, "-d", os.path.join(self.work, "s3"), "-a", "127.0.0.1", "-p",
                                        str(port), "-s", "--configure-bucket", BUCKET],
                                       stdout=self.s3_log, stderr=subprocess.STDOUT)
        import boto3
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="S3RVER",
                               aws_secret_access_key="S3RVER", region_name="us-east-1")
        harness.wait_for(lambda: self.s3.list_objects_v2(Bucket=BUCKET) is not None, timeout=30,
                         what="s3rver listening", retry_on=(Exception,))

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        self.s3rver.kill()
        self.s3rver.wait(timeout=10)
        self.s3_log.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def config(self, name, **extra):
        sub = {"access_key_id": "$RQ_TEST_S3_KEY", "secret_access_key": "S3RVER", "region": "us-east-1",
               "bucket": BUCKET, "path": KEY, "endpoint": self.endpoint, "force_path_style": True}
        body = {"version": 1, "type": "s3", "sub": sub}
        body.update(extra)
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            json.dump(body, f)
        return path

    def node(self, node_id, extra):
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra)
        self.nodes.append(node)
        return node

    def object_rows(self):
        """(LastModified, rows of foo) of the uploaded object, checked."""
        obj = self.s3.get_object(Bucket=BUCKET, Key=KEY)
        data = gzip.decompress(obj["Body"].read())
        path = os.path.join(self.work, "downloaded-%d.sqlite" % time.time_ns())
        with open(path, "wb") as f:
            f.write(data)
        db = sqlite3.connect(path)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            rows = db.execute("SELECT id, name FROM foo ORDER BY id").fetchall()
        finally:
            db.close()
        return obj["LastModified"], obj["Metadata"], rows

    def wait_for_rows(self, expected):
        def uploaded():
            try:
                return self.object_rows()[2] == expected
            except self.s3.exceptions.NoSuchKey:
                return False
        harness.wait_for(uploaded, timeout=40, what="the object holding %d rows" % len(expected),
                         retry_on=harness.RETRYABLE + (Exception,))

    def test_leader_uploads_skips_unchanged_and_the_next_leader_continues(self):
        os.environ["RQ_TEST_S3_KEY"] = "S3RVER"  # $VAR expansion, as rqlite does
        backup = ["-auto-backup", self.config("backup.json", interval="1s")]
        leader = self.node("1", backup).start()
        for node_id in ("2", "3"):
            self.node(node_id, backup + ["-join", leader.raft_addr]).start()
        leader.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)"])
        leader.execute(["INSERT INTO foo(name) VALUES('fiona')", "INSERT INTO foo(name) VALUES('declan')"])
        self.wait_for_rows([(1, "fiona"), (2, "declan")])
        modified, metadata, _ = self.object_rows()
        self.assertRegex(metadata.get("x-rqlite-sum", metadata.get("X-Rqlite-Sum", "")), "^[0-9a-f]{64}$")

        # Unchanged: several intervals pass, nothing is uploaded again.
        status = leader.get("/status").json()["auto_backups"]
        self.assertIn("last_upload_time", status)
        skipped = leader.get("/debug/vars").json()["uploader"]["num_uploads_skipped"]
        time.sleep(3.5)
        self.assertEqual(self.object_rows()[0], modified)
        self.assertGreater(leader.get("/debug/vars").json()["uploader"]["num_uploads_skipped"], skipped)
        # Only the leader uploads.
        for follower in self.nodes[1:]:
            self.assertEqual(follower.get("/debug/vars").json()["uploader"]["num_uploads_ok"], 0)

        leader.kill()
        survivors = self.nodes[1:]
        new_leader = harness.wait_for(lambda: harness.leader_of(survivors), timeout=30, what="a new leader")
        new_leader = harness.leader_of(survivors)
        new_leader.execute(["INSERT INTO foo(name) VALUES('after-failover')"])
        self.wait_for_rows([(1, "fiona"), (2, "declan"), (3, "after-failover")])
        self.assertGreaterEqual(new_leader.get("/debug/vars").json()["uploader"]["num_uploads_ok"], 1)

    def test_a_new_node_restores_from_the_object(self):
        os.environ["RQ_TEST_S3_KEY"] = "S3RVER"
        source = self.node("1", ["-auto-backup", self.config("backup.json", interval="1s")]).start()
        source.execute(["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)",
                        "INSERT INTO foo(name) VALUES('fiona')"])
        self.wait_for_rows([(1, "fiona")])
        restore = ["-auto-restore", self.config("restore.json", timeout="10s")]
        restored = self.node("9", restore).start()
        rows = restored.get("/db/query?level=strong&q=SELECT%20id,%20name%20FROM%20foo").json()
        self.assertEqual(rows["results"][0]["values"], [[1, "fiona"]])
        # A node that has data skips the restore on its next start.
        restored.execute(["INSERT INTO foo(name) VALUES('local')"])
        restored.stop()
        restored.start()
        rows = restored.get("/db/query?level=strong&q=SELECT%20COUNT(*)%20FROM%20foo").json()
        self.assertEqual(rows["results"][0]["values"], [[2]])
        self.assertIn("auto-restore skipped", restored.read_log())

    def run_restore(self, config):
        data = tempfile.mkdtemp(prefix="rqe2e-restore-", dir=self.work)
        ran = subprocess.run([ARGS.rqlited, "-node-id", "r", "-http-addr", "127.0.0.1:%d" % harness.free_port(),
                              "-raft-addr", "127.0.0.1:%d" % harness.free_port(), "-auto-restore", config, data],
                             capture_output=True, text=True, timeout=60)
        return ran, data

    def test_missing_and_corrupt_objects_stop_the_node_unless_told_to_continue(self):
        os.environ["RQ_TEST_S3_KEY"] = "S3RVER"
        missing, data = self.run_restore(self.config("missing.json"))
        self.assertEqual(missing.returncode, 1, missing.stderr)
        self.assertIn("auto-restore", missing.stderr)
        self.assertFalse(os.path.exists(os.path.join(data, "db.sqlite")) and
                         os.path.getsize(os.path.join(data, "db.sqlite")) > 4096)
        self.s3.put_object(Bucket=BUCKET, Key=KEY, Body=gzip.compress(b"this is not a database" * 100))
        corrupt, _ = self.run_restore(self.config("corrupt.json"))
        self.assertEqual(corrupt.returncode, 1, corrupt.stderr)
        # continue_on_failure: the node starts empty and serves.
        node = self.node("c", ["-auto-restore", self.config("continue.json", continue_on_failure=True)]).start()
        self.assertEqual(node.get("/readyz").status, 200)
        self.assertIn("continuing without it", node.read_log())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
