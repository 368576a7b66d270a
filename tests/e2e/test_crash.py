"""Invariant 2 under kill -9: every acknowledged write survives exactly once.

Starts a real rqlited, runs concurrent writers that each insert unique
values, kills the node with SIGKILL at random moments, restarts it on the
same data directory, and at the end checks every acknowledged value is
present exactly once and nothing is present twice. Also checks db.sqlite is
a valid SQLite file another process can open read-only after each crash.
"""
import argparse
import os
import random
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None


class CrashTest(unittest.TestCase):
    def test_kill9_under_concurrent_writes_loses_nothing_acknowledged(self):
        rng = random.Random(ARGS.seed)
        node = harness.Node(ARGS.rqlited, extra_args=["-raft-snap", "50", "-raft-snap-int", "200ms"])
        node.start()
        try:
            r = node.execute(["CREATE TABLE t (v INTEGER NOT NULL)"])
            self.assertEqual(r.status, 200, r.text())
            acked = set()
            acked_lock = threading.Lock()
            counter = [0]

            def writer(stop):
                while not stop.is_set():
                    with acked_lock:
                        counter[0] += 1
                        value = counter[0]
                    try:
                        res = harness.http("POST", node.url + "/db/execute",
                                           [["INSERT INTO t(v) VALUES(?)", value]], timeout=5)
                    except OSError:
                        time.sleep(0.01)
                        continue
                    if res.status == 200:
                        body = res.json()
                        if "error" not in body and body["results"] and body["results"][0].get("rows_affected") == 1:
                            with acked_lock:
                                acked.add(value)

            for round_number in range(ARGS.rounds):
                stop = threading.Event()
                threads = [threading.Thread(target=writer, args=(stop,)) for _ in range(4)]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.2, 1.0))
                node.kill()
                stop.set()
                for t in threads:
                    t.join()
                # db.sqlite stays a valid database another process can read.
                conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.data_dir, "db.sqlite"), uri=True)
                self.assertEqual(conn.execute("PRAGMA quick_check").fetchone()[0], "ok")
                conn.close()
                node.start()

            r = node.query(["SELECT v, COUNT(*) FROM t GROUP BY v HAVING COUNT(*) > 1"])
            self.assertEqual(r.status, 200)
            self.assertNotIn("values", r.json()["results"][0], "a write was applied twice")
            r = node.query(["SELECT v FROM t"])
            present = {row[0] for row in r.json()["results"][0].get("values", [])}
            missing = acked - present
            self.assertFalse(missing, "acknowledged writes lost: %s" % sorted(missing)[:20])
            self.assertGreater(len(acked), 50, "too few writes acknowledged to mean anything")
            print("acknowledged %d, present %d, rounds %d" % (len(acked), len(present), ARGS.rounds))
        finally:
            node.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
