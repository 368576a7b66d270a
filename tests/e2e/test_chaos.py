"""Bounded chaos: a 3-node cluster under concurrent writes while nodes are
killed (SIGKILL), frozen (SIGSTOP/SIGCONT) and restarted at random. At the
end every node must hold every acknowledged write exactly once, and all
three db.sqlite files must have identical content.

`--seconds` bounds the chaos phase (CI runs a short one; run longer by hand:
`python3 tests/e2e/test_chaos.py --rqlited build/src/cmd/rqlited --seconds 300`).
"""
import argparse
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None


def file_values(node):
    return [v for (v,) in harness.file_rows(node, "SELECT v FROM t ORDER BY v")]


class ChaosTest(unittest.TestCase):
    def test_random_kills_freezes_and_restarts_lose_nothing(self):
        rng = random.Random(ARGS.seed)
        nodes = []
        try:
            n1 = harness.start_cluster(ARGS.rqlited, nodes)
            r = n1.execute(["CREATE TABLE t (v INTEGER NOT NULL)"])
            self.assertEqual(r.status, 200, r.text())
            acked, lock, stop = set(), threading.Lock(), threading.Event()
            counter = [0]
            frozen = set()

            def writer(seed):
                wrng = random.Random(seed)
                while not stop.is_set():
                    with lock:
                        counter[0] += 1
                        value = counter[0]
                    target = wrng.choice(nodes)
                    try:
                        res = harness.http("POST", target.url + "/db/execute",
                                           [["INSERT INTO t(v) VALUES(?)", value]], timeout=3)
                    except OSError:
                        time.sleep(0.02)
                        continue
                    if res.status == 200:
                        body = res.json()
                        if "error" not in body and body["results"] and body["results"][0].get("rows_affected") == 1:
                            with lock:
                                acked.add(value)

            threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            deadline = time.time() + ARGS.seconds
            events = 0
            while time.time() < deadline:
                time.sleep(rng.uniform(0.3, 1.2))
                victim = rng.choice(nodes)
                action = rng.choice(["kill", "freeze", "restart"])
                if victim.node_id in frozen:
                    os.kill(victim.proc.pid, signal.SIGCONT)
                    frozen.discard(victim.node_id)
                elif action == "kill" and victim.proc.poll() is None:
                    victim.kill()
                elif action == "freeze" and victim.proc.poll() is None:
                    os.kill(victim.proc.pid, signal.SIGSTOP)
                    frozen.add(victim.node_id)
                elif victim.proc.poll() is not None:
                    victim.start(wait_leader=False)
                events += 1
                # Never keep a majority down for long: revive all but one.
                down = [n for n in nodes if n.proc.poll() is not None or n.node_id in frozen]
                for n in down[1:]:
                    if n.node_id in frozen:
                        os.kill(n.proc.pid, signal.SIGCONT)
                        frozen.discard(n.node_id)
                    else:
                        n.start(wait_leader=False)
            stop.set()
            for t in threads:
                t.join()
            # Heal: everyone running, then wait for convergence.
            for n in nodes:
                if n.node_id in frozen:
                    os.kill(n.proc.pid, signal.SIGCONT)
                elif n.proc.poll() is not None:
                    n.start(wait_leader=False)
            for n in nodes:
                n.wait_ready(timeout=30)
            r = harness.http("POST", n1.url + "/db/execute", [["INSERT INTO t(v) VALUES(?)", 0]], timeout=10)
            self.assertEqual(r.status, 200, r.text())
            converge = time.time() + 30
            while time.time() < converge:
                try:
                    contents = [file_values(n) for n in nodes]
                except sqlite3.Error:
                    contents = None
                if contents and all(c == contents[0] for c in contents) and 0 in contents[0]:
                    break
                time.sleep(0.2)
            contents = [file_values(n) for n in nodes]
            for n, values in zip(nodes, contents):
                self.assertEqual(len(values), len(set(values)), "a write applied twice on node " + n.node_id)
                self.assertEqual(values, contents[0], "node %s differs from node 1" % n.node_id)
            missing = acked - set(contents[0])
            self.assertFalse(missing, "acknowledged writes lost: %s" % sorted(missing)[:20])
            self.assertGreater(len(acked), 20)
            print("chaos: %d events in %.0fs, %d acknowledged, %d present" %
                  (events, ARGS.seconds, len(acked), len(contents[0]) - 1))
        finally:
            for n in nodes:
                if n.proc and n.proc.poll() is None:
                    os.kill(n.proc.pid, signal.SIGCONT)
                n.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
