"""Writes applied together (README "Writes applied together"): a 3-node
cluster under 32 concurrent writers whose writes succeed, break a UNIQUE
key, hit a trigger's RAISE(ROLLBACK) or draw random(). Every writer must
get the answer its write has alone, and the three db.sqlite files must end
identical, with groups formed (and given up) on every node.
"""
import argparse
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
WRITERS = 32
WRITES_PER_WRITER = 60


def file_rows(node):
    return harness.file_rows(node, "SELECT id, v, r FROM t ORDER BY id")


def store_vars(node):
    return node.get("/debug/vars").json()["store"]


def kind_of(key):
    """What write number `key` does; the answer it must get follows from it."""
    if key % 7 == 3:
        return "sevens"     # v = 7: the trigger's RAISE(ROLLBACK)
    if key % 5 == 4 and kind_of(key - 1) == "plain":
        return "duplicate"  # the id the writer's write before took
    return "plain"


class ApplyGroupsTest(unittest.TestCase):
    def test_concurrent_writes_answer_as_if_applied_alone_on_identical_replicas(self):
        nodes = []
        try:
            n1 = harness.start_cluster(ARGS.rqlited, nodes)
            r = n1.execute(["CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, "
                            "r INTEGER DEFAULT (random()))",
                            "CREATE TRIGGER no_sevens BEFORE INSERT ON t WHEN NEW.v = 7 "
                            "BEGIN SELECT RAISE(ROLLBACK, 'no sevens'); END"])
            self.assertEqual(r.status, 200, r.text())
            before = [store_vars(n) for n in nodes]
            answers, lock = {}, threading.Lock()

            def writer(w):
                for i in range(WRITES_PER_WRITER):
                    # Each writer owns a block of ids and a duplicate repeats
                    # the id its own previous write took, so the expected
                    # answer does not depend on other writers' timing.
                    key = w * 1000 + i + 1
                    kind = kind_of(key)
                    if kind == "sevens":
                        stmt = ["INSERT INTO t(id, v) VALUES(?, 7)", key]
                    elif kind == "duplicate":
                        stmt = ["INSERT INTO t(id, v) VALUES(?, 0)", key - 1]
                    else:
                        stmt = ["INSERT INTO t(id, v) VALUES(?, ?)", key, 100 + i]
                    res = harness.http("POST", n1.url + "/db/execute", [stmt], timeout=30)
                    with lock:
                        answers[key] = (res.status, res.json())

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(len(answers), WRITERS * WRITES_PER_WRITER)
            plain = set()
            for key, (status, body) in sorted(answers.items()):
                self.assertEqual(status, 200, body)
                result = body["results"][0]
                kind = kind_of(key)
                if kind == "sevens":
                    self.assertEqual(result.get("error"), "no sevens", (key, result))
                elif kind == "duplicate":
                    self.assertEqual(result.get("error"), "UNIQUE constraint failed: t.id", (key, result))
                else:
                    self.assertNotIn("error", result, (key, result))
                    self.assertEqual(result.get("last_insert_id"), key, (key, result))
                    self.assertEqual(result.get("rows_affected"), 1, (key, result))
                    plain.add(key)
            # Every replica applies the last write before answering at level strong.
            r = n1.query(["SELECT count(*) FROM t"], "?level=strong")
            self.assertEqual(r.json()["results"][0]["values"], [[len(plain)]], r.text())
            for n in nodes[1:]:
                harness.wait_for(lambda n=n: len(file_rows(n)) == len(plain),
                                 what="node %s caught up" % n.node_id)
            rows = [file_rows(n) for n in nodes]
            self.assertEqual([row[0] for row in rows[0]], sorted(plain))
            for n, node_rows in zip(nodes[1:], rows[1:]):
                self.assertEqual(node_rows, rows[0], "node %s differs from node 1" % n.node_id)
            for n, was in zip(nodes, before):
                now = store_vars(n)
                self.assertGreater(now["num_apply_groups"], was["num_apply_groups"], n.node_id)
            print("apply groups: %s; given up: %s" % (
                [store_vars(n)["num_apply_groups"] for n in nodes],
                [store_vars(n)["num_apply_group_fallbacks"] for n in nodes]))
        finally:
            for n in nodes:
                n.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
