"""Real network partitions of a 3-node cluster, made with Linux network
namespaces.

Topology (created by Net, removed in finally and at start):
  * one namespace per node, rqpPID-nI (PID in hex: concurrent runs from
    several build directories do not collide), holding two veth ends:
      clu0 10.200.1.I  cluster traffic (-raft-addr, Raft and forwarding)
      api0 10.201.K.I  the HTTP API (-http-addr; K is a /24 free in the
                       root namespace's routes)
  * the other ends sit in the root namespace on two bridges: rqpPID-clu (no
    address: only the nodes talk on it) and rqpPID-api (10.201.K.254, so
    this process reaches every node's API whatever the partition).
A partition takes the root end of a node's cluster veth down: packets to and
from it are dropped silently (no RST, no ICMP), as with a cut cable, while the
test keeps talking to the isolated node over the API network. Healing brings
the link back up. A one-way partition drops only the packets into a node, or
only those out of it: a zero-length pfifo qdisc on the egress of the root end
(into the node) or of the node's own end (out of it). Over TCP that is what a
half-broken link looks like: the sender's writes succeed into its socket, its
segments arrive for a while, and the acknowledgements never come back.

Cases: an isolated leader; an isolated follower (healed, it catches up by
snapshot: -raft-snap is small); a cut in the middle of a snapshot transfer
slowed down with tbf; a flapping partition under 4 concurrent writers; and
one-way cuts: a leader that can send but hears nothing, a follower whose
answers are lost, and a follower that hears nothing. The last two must not
disturb the leader (pre-vote, check-quorum): same leader, same term.

Needs root and `ip netns`; otherwise the test prints SKIP and exits 77.
"""
import argparse
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
SKIP_CODE = 77
PREFIX = "rqp%x" % os.getpid()  # at most 15 - len("-api") characters
API_SUBNET = ["10.201.0"]  # chosen in Net.create()
HTTP_PORT = 4001
RAFT_PORT = 4002
# Small snapshot thresholds: the log is compacted while a node is cut off,
# so healing also exercises installing a snapshot over an existing database.
TIMING = ["-raft-election-timeout", "1s", "-raft-heartbeat-timeout", "1s", "-raft-snap", "64",
          "-raft-snap-int", "1s"]


def sh(*cmd, check=True):
    r = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def namespaces_available():
    """True when this process may create namespaces, veths and bridges."""
    if os.geteuid() != 0:
        return False, "not root"
    probe = PREFIX + "-pb"
    sh("ip", "netns", "del", probe, check=False)
    r = sh("ip", "netns", "add", probe, check=False)
    if r.returncode != 0:
        return False, "ip netns add: " + r.stderr.strip()
    sh("ip", "netns", "del", probe, check=False)
    r = sh("ip", "link", "add", PREFIX + "-pbr", "type", "bridge", check=False)
    if r.returncode != 0:
        return False, "bridge: " + r.stderr.strip()
    sh("ip", "link", "del", PREFIX + "-pbr", check=False)
    return True, ""


class Net:
    """The namespaces, veths and bridges of one test. Not thread-safe."""

    def __init__(self, count):
        self.count = count

    @staticmethod
    def ns(i):
        return "%s-n%d" % (PREFIX, i)

    @staticmethod
    def cluster_ip(i):
        return "10.200.1.%d" % i

    @staticmethod
    def api_ip(i):
        return "%s.%d" % (API_SUBNET[0], i)

    @staticmethod
    def is_removable(name, only_own):
        """Ours, or left behind by a run whose process is gone."""
        m = re.match(r"rqp([0-9a-f]+)-", name)
        if not m:
            return False
        if name.startswith(PREFIX + "-"):
            return True
        if only_own:
            return False
        try:
            os.kill(int(m.group(1), 16), 0)
            return False  # a concurrent run
        except ProcessLookupError:
            return True
        except PermissionError:
            return False

    @staticmethod
    def remove_stale(only_own=False):
        """Removes ours, and what killed earlier runs left behind."""
        for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            if Net.is_removable(name, only_own):
                sh("ip", "netns", "del", name, check=False)
        for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
            fields = line.split(":")
            if len(fields) > 1:
                name = fields[1].strip().split("@")[0]
                if Net.is_removable(name, only_own):
                    sh("ip", "link", "del", name, check=False)

    @staticmethod
    def choose_api_subnet():
        routes = sh("ip", "-4", "route", "show", check=False).stdout
        for k in [os.getpid() % 250] + list(range(250)):
            if ("10.201.%d.0/24" % k) not in routes:
                API_SUBNET[0] = "10.201.%d" % k
                return
        raise RuntimeError("no free 10.201.K.0/24 subnet")

    def create(self):
        self.remove_stale()
        self.choose_api_subnet()
        for bridge in ("clu", "api"):
            sh("ip", "link", "add", "%s-%s" % (PREFIX, bridge), "type", "bridge")
            sh("ip", "link", "set", "%s-%s" % (PREFIX, bridge), "up")
        sh("ip", "addr", "add", Net.api_ip(254) + "/24", "dev", PREFIX + "-api")
        for i in range(1, self.count + 1):
            ns = self.ns(i)
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            for net, ip in (("clu", self.cluster_ip(i)), ("api", self.api_ip(i))):
                outer = "%s-%s%d" % (PREFIX, net[0], i)
                sh("ip", "link", "add", outer, "type", "veth", "peer", "name", net + "0", "netns", ns)
                sh("ip", "link", "set", outer, "master", "%s-%s" % (PREFIX, net))
                sh("ip", "link", "set", outer, "up")
                sh("ip", "-n", ns, "addr", "add", ip + "/24", "dev", net + "0")
                sh("ip", "-n", ns, "link", "set", net + "0", "up")

    def isolate(self, i):
        sh("ip", "link", "set", "%s-c%d" % (PREFIX, i), "down")

    def heal(self, i):
        sh("ip", "link", "set", "%s-c%d" % (PREFIX, i), "up")

    def limit_rate(self, i, rate):
        """Caps traffic into node i over its cluster link (tbf), or lifts the cap."""
        dev = "%s-c%d" % (PREFIX, i)
        if rate:
            sh("tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", "64kb", "latency", "2s")
        else:
            sh("tc", "qdisc", "del", "dev", dev, "root", check=False)

    def block(self, i, direction):
        """Drops every packet into node i ("in") or out of it ("out") on its
        cluster link; the other direction keeps flowing."""
        ns_opts, dev = self._egress_toward(i, direction)
        sh("tc", *ns_opts, "qdisc", "replace", "dev", dev, "root", "pfifo", "limit", "0")

    def unblock(self, i, direction):
        ns_opts, dev = self._egress_toward(i, direction)
        sh("tc", *ns_opts, "qdisc", "del", "dev", dev, "root", check=False)

    def _egress_toward(self, i, direction):
        """The device whose egress carries node i's traffic in `direction`."""
        if direction == "in":  # the root end of the veth sends into the node
            return [], "%s-c%d" % (PREFIX, i)
        assert direction == "out"
        return ["-n", self.ns(i)], "clu0"

    def heal_all(self):
        for i in range(1, self.count + 1):
            self.heal(i)

    def destroy(self):
        self.remove_stale(only_own=True)


class NsNode(harness.Node):
    """An rqlited process inside namespace rqpPID-nI; reached over the API bridge."""

    def __init__(self, binary, index, extra_args=None):
        super().__init__(binary, node_id=str(index), extra_args=extra_args,
                         http_port=HTTP_PORT, raft_port=RAFT_PORT)
        self.index = index
        self.log_path = os.path.join(os.path.dirname(self.log_path), "rqp-node%d-%d.log" % (index, os.getpid()))

    @property
    def http_addr(self):
        return "%s:%d" % (Net.api_ip(self.index), self.http_port)

    @property
    def raft_addr(self):
        return "%s:%d" % (Net.cluster_ip(self.index), self.raft_port)

    def args(self):
        # `ip netns exec` execs rqlited in place, so proc.pid is rqlited's pid.
        return ["ip", "netns", "exec", Net.ns(self.index)] + super().args()

    def wait_http(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rqlited exited with %s; log:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                with socket.create_connection((Net.api_ip(self.index), self.http_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rqlited did not listen in time; log:\n" + self.read_log())

    def raft_state(self):
        try:
            r = self.get("/status?key=store.raft.state", timeout=2)
            return r.json() if r.status == 200 else None
        except (OSError, ValueError):
            return None

    def raft_term(self):
        r = self.get("/status?key=store.raft.term", timeout=2)
        return r.json() if r.status == 200 else None

    def file_values(self):
        conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data_dir, "db.sqlite"), uri=True)
        try:
            return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")]
        finally:
            conn.close()


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


def insert(node, value, timeout=4):
    """'ok' when acknowledged, 'error' when the node answered with an error
    (which may still be ambiguous, e.g. a forwarded write whose answer was
    lost), 'unknown' when no answer came."""
    try:
        r = harness.http("POST", node.url + "/db/execute", [["INSERT INTO t(v) VALUES(?)", value]], timeout=timeout)
    except OSError:
        return "unknown", "no answer"
    if r.status == 200:
        body = r.json()
        if "error" not in body and body["results"] and body["results"][0].get("rows_affected") == 1:
            return "ok", r.text()
        return "error", r.text()
    return "error", "%d %s" % (r.status, r.text())


class Writers:
    """Concurrent writers of unique integers; remembers what was acknowledged."""

    def __init__(self, targets, count, seed, base=1000):
        self.targets = targets
        self.acked, self.refused, self.errors, self.ack_times = set(), set(), {}, []
        self.lock, self.stop_event = threading.Lock(), threading.Event()
        self.counter = base
        self.threads = [threading.Thread(target=self.run, args=(seed + i,)) for i in range(count)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, seed):
        rng = random.Random(seed)
        while not self.stop_event.is_set():
            with self.lock:
                self.counter += 1
                value = self.counter
            outcome, detail = insert(rng.choice(self.targets()), value, timeout=3)
            with self.lock:
                if outcome == "ok":
                    self.acked.add(value)
                    self.ack_times.append(time.time())
                elif outcome == "error":
                    self.refused.add(value)
                    self.errors[value] = re.sub(r"[0-9.:]+", "N", detail)[:90]
            if outcome != "ok":
                time.sleep(0.05)

    def longest_gap(self):
        """Longest time with no acknowledged write (seconds, from the first ack)."""
        return self.longest_gap_span()[1] - self.longest_gap_span()[0]

    def longest_gap_span(self):
        times = sorted(self.ack_times)
        return max(zip(times, times[1:]), key=lambda ab: ab[1] - ab[0], default=(0.0, 0.0))

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join()


class PartitionTest(unittest.TestCase):
    def setUp(self):
        self.net = Net(3)
        self.net.create()
        self.nodes = []
        try:
            n1 = NsNode(ARGS.rqlited, 1, TIMING)
            self.nodes.append(n1)
            n1.start()
            for i in (2, 3):
                node = NsNode(ARGS.rqlited, i, TIMING + ["-join", n1.raft_addr])
                self.nodes.append(node)
                node.start()
            r = n1.execute(["CREATE TABLE t (v INTEGER NOT NULL)"])
            self.assertEqual(r.status, 200, r.text())
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        try:
            for n in self.nodes:
                if ARGS.show_warnings:
                    with open(n.log_path, "rb") as f:
                        lines = f.read().decode("utf-8", "replace").splitlines()
                    for line in lines:
                        if "[warn" in line or "[error" in line or "[critical" in line:
                            sys.stderr.write("node %s: %s\n" % (n.node_id, line))
                if self._outcome_failed():
                    sys.stderr.write("--- node %s log tail ---\n%s\n" % (n.node_id, n.read_log()[-2500:]))
                n.cleanup()
        finally:
            self.net.destroy()

    def _outcome_failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return bool(result) and any(test is self for test, _ in result.failures + result.errors)

    def stop_all_gracefully(self):
        """SIGTERM every node, leader first, and expect a clean exit (status 0)."""
        order = sorted(self.nodes, key=lambda n: n.raft_state() != "Leader")
        for n in order:
            n.stop()
            self.assertEqual(n.proc.returncode, 0, "node %s exited with %s on SIGTERM; log:\n%s" %
                             (n.node_id, n.proc.returncode, n.read_log()[-1500:]))

    def leader(self, among=None):
        found = [n for n in (among or self.nodes) if n.raft_state() == "Leader"]
        return found[0] if len(found) == 1 else None

    def assert_converged(self, acked, timeout=30):
        """Every node's file holds the same values, each once, every acked one."""
        barrier = 1  # a write committed after healing: all files must reach it
        wait_for(lambda: insert(self.leader() or self.nodes[0], barrier, timeout=5)[0] == "ok", 30,
                 "the barrier write")
        contents = None

        def same():
            nonlocal contents
            contents = [n.file_values() for n in self.nodes]
            return all(c == contents[0] for c in contents) and barrier in contents[0]

        try:
            wait_for(same, timeout, "identical db.sqlite content on every node")
        except AssertionError:
            pass  # the assertions below say what differs
        contents = [n.file_values() for n in self.nodes]
        for n, values in zip(self.nodes, contents):
            self.assertEqual(len(values), len(set(values)), "a write applied twice on node " + n.node_id)
            self.assertEqual(values, contents[0], "node %s differs from node 1" % n.node_id)
        present = set(contents[0])
        self.assertFalse(acked - present, "acknowledged writes lost: %s" % sorted(acked - present)[:20])
        return present

    def cut_off_leader(self, cut, what):
        """Writes through the leader, then cut(leader index) while four more
        are sent to it as the others elect: none of those may be
        acknowledged. Returns (old leader, the others, new leader, seconds
        until it was elected, acknowledged values, outcomes of the four)."""
        old = self.leader()
        self.assertIsNotNone(old)
        others = [n for n in self.nodes if n is not old]
        acked = set()
        for v in range(10, 20):
            self.assertEqual(insert(old, v)[0], "ok")
            acked.add(v)
        cut(old.index)
        t0 = time.time()
        outcomes = {}

        def write_to_old():
            for v in range(100, 104):
                outcomes[v] = insert(old, v, timeout=4)

        thread = threading.Thread(target=write_to_old)
        thread.start()
        wait_for(lambda: self.leader(others) is not None, 20, "a new leader among the nodes that hear each other")
        elapsed = time.time() - t0
        new = self.leader(others)
        thread.join()
        for v, (outcome, detail) in sorted(outcomes.items()):
            self.assertNotEqual(outcome, "ok", "%s acknowledged write %d: %s" % (what, v, detail))
        return old, others, new, elapsed, acked, outcomes

    def test_isolated_leader_stops_acknowledging_and_majority_moves_on(self):
        old, others, new, elapsed, acked, outcomes = self.cut_off_leader(self.net.isolate, "the isolated leader")
        refused = {v for v, (o, _) in outcomes.items() if o == "error"}
        unknown = {v for v, (o, _) in outcomes.items() if o == "unknown"}
        for v in range(200, 230):
            outcome, detail = insert(others[v % 2], v)
            self.assertEqual(outcome, "ok", "majority write %d: %s" % (v, detail))
            acked.add(v)
        self.assertNotEqual(old.raft_state(), "Leader", "the isolated node still calls itself leader")
        # Leader-level reads on the cut-off node would be stale: never served.
        for level in ("linearizable", "strong"):
            try:
                r = harness.http("POST", old.url + "/db/query?level=" + level, ["SELECT count(*) FROM t"], timeout=5)
                answer = r.text()
                answered = r.status == 200 and "values" in r.json()["results"][0]
            except (OSError, ValueError, KeyError, IndexError) as e:
                answer, answered = repr(e), False
            self.assertFalse(answered, "the isolated node served a %s read: %s" % (level, answer))
        self.net.heal(old.index)
        wait_for(lambda: old.raft_state() == "Follower", 15, "the old leader to become follower")
        present = self.assert_converged(acked)
        self.assertIs(self.leader(), new, "leadership moved again after healing (disruptive rejoin)")
        self.stop_all_gracefully()
        print("isolated leader: new leader after %.1fs; writes to the old one: refused=%d timed out=%d "
              "(first answer: %s); present after heal=%d" %
              (elapsed, len(refused), len(unknown), outcomes[100][1][:80], len((refused | unknown) & present)))

    def test_isolated_follower_catches_up_after_healing(self):
        leader = self.leader()
        self.assertIsNotNone(leader)
        follower = [n for n in self.nodes if n is not leader][0]
        writers = Writers(lambda: [leader], 2, seed=11).start()
        try:
            time.sleep(1.0)
            self.net.isolate(follower.index)
            time.sleep(1.5)
            frozen_at = len(follower.file_values())
            time.sleep(2.5)
            during = len(writers.acked)
            self.assertEqual(self.leader(), leader, "isolating a follower must not move leadership")
            # The partition is real: the isolated copy stopped moving.
            self.assertEqual(len(follower.file_values()), frozen_at, "the isolated follower still received writes")
            self.assertGreater(len(leader.file_values()), frozen_at + 20)
            time.sleep(1.0)
            self.net.heal(follower.index)
            time.sleep(2.0)
        finally:
            writers.stop()
        self.assertGreater(during, 200, "the majority kept accepting writes")
        present = self.assert_converged(writers.acked)
        # More than 1.25 x -raft-snap entries were compacted away meanwhile.
        installs = follower.read_log().count("installed snapshot")
        self.assertGreaterEqual(installs, 1, "the follower was expected to catch up by snapshot")
        print("isolated follower: %d acknowledged, %d present, %d snapshot installs" %
              (len(writers.acked), len(present), installs))

    def test_partition_in_the_middle_of_a_snapshot_transfer(self):
        leader = self.leader()
        self.assertIsNotNone(leader)
        follower = [n for n in self.nodes if n is not leader][0]
        self.net.isolate(follower.index)
        # About 64 MB the follower lacks, then enough entries that the log
        # no longer holds what it needs: healing must send a snapshot.
        r = leader.execute(["CREATE TABLE big (n INTEGER PRIMARY KEY, b BLOB)"])
        self.assertEqual(r.status, 200, r.text())
        for i in range(10):
            sql = ("WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM c WHERE x < %d) "
                   "INSERT INTO big(n, b) SELECT x, randomblob(65536) FROM c" % (i * 100 + 1, i * 100 + 100))
            r = leader.post("/db/execute?transaction", [sql], timeout=60)
            self.assertEqual(r.status, 200, r.text())
        writers = Writers(lambda: [leader], 4, seed=5).start()
        wait_for(lambda: len(writers.acked) > ARGS.tail_writes, 60, "writes while the follower is cut off")
        writers.stop()
        acked = writers.acked
        self.assertIn(leader.post("/snapshot", timeout=60).status, (200, 204))
        # A slow link (about 10 MB/s), so the cut lands mid-transfer.
        self.net.limit_rate(follower.index, "80mbit")
        self.net.heal(follower.index)
        raft_dir = os.path.join(follower.data_dir, "raft")

        def receiving():
            return any(n.endswith(".part") and os.path.getsize(os.path.join(raft_dir, n)) > 8 << 20
                       for n in os.listdir(raft_dir))

        wait_for(receiving, 12, "the snapshot transfer to start")
        self.net.isolate(follower.index)
        time.sleep(ARGS.cut_seconds)
        self.net.heal(follower.index)
        self.net.limit_rate(follower.index, None)
        self.assert_converged(acked, timeout=60)

        def big(node):
            return harness.file_rows(node, "SELECT count(*), total(length(b)), total(unicode(hex(b))) FROM big")[0]

        self.assertEqual(big(follower), big(leader))
        leftovers = lambda: [n for n in os.listdir(raft_dir) if n.startswith(("incoming-", "install-"))]
        try:
            wait_for(lambda: not leftovers(), 15, "no leftover files")
        except AssertionError:
            self.fail("leftover snapshot files on the follower: %s" % leftovers())
        with open(leader.log_path, "rb") as f:
            leader_log = f.read().decode("utf-8", "replace")
        print("cut mid-transfer for %.0fs: leader sent %d snapshots (%d failed), follower received %d" %
              (ARGS.cut_seconds, len(re.findall(r"sent snapshot at index \d+ to %s" % follower.node_id, leader_log)),
               len(re.findall(r"snapshot at index \d+ to %s failed" % follower.node_id, leader_log)),
               follower.read_log().count("received snapshot")))

    def test_one_way_leader_that_hears_nothing_steps_down(self):
        # Its appends and heartbeats still leave; no answer comes back.
        old, others, new, elapsed, acked, outcomes = self.cut_off_leader(
            lambda i: self.net.block(i, "in"), "a leader that hears nobody")
        # Check-quorum: hearing no follower for an election timeout, it stops
        # calling itself leader even though its own messages get through.
        wait_for(lambda: old.raft_state() != "Leader", 10, "the deaf leader to step down")
        for v in range(200, 230):
            outcome, detail = insert(others[v % 2], v)
            self.assertEqual(outcome, "ok", "majority write %d: %s" % (v, detail))
            acked.add(v)
        self.net.unblock(old.index, "in")
        t_heal = time.time()
        wait_for(lambda: old.raft_state() == "Follower", 30, "the old leader to follow after healing")
        rejoined = time.time() - t_heal
        self.assert_converged(acked)
        self.assertIs(self.leader(), new, "leadership moved again after healing (disruptive rejoin)")
        self.stop_all_gracefully()
        print("one-way, leader hears nothing: new leader after %.1fs; old one follows %.1fs after healing; "
              "writes to the old one: %s" % (elapsed, rejoined, sorted(o for o, _ in outcomes.values())))

    def check_follower_one_way_cut_is_harmless(self, direction):
        """A follower cut in one direction for five election timeouts, under
        writes: the leader and its term never change, during the cut or after
        healing, and the follower catches up (by snapshot: -raft-snap is small)."""
        leader = self.leader()
        self.assertIsNotNone(leader)
        term = leader.raft_term()
        follower = [n for n in self.nodes if n is not leader][0]
        writers = Writers(lambda: [leader], 2, seed=17).start()
        try:
            time.sleep(1.0)
            before = len(writers.acked)
            self.net.block(follower.index, direction)
            time.sleep(5.0)
            during = len(writers.acked) - before
            self.assertIs(self.leader(), leader, "a follower cut %s moved leadership" % direction)
            self.assertEqual(leader.raft_term(), term, "a follower cut %s started elections" % direction)
            self.net.unblock(follower.index, direction)
            time.sleep(3.0)
        finally:
            self.net.unblock(follower.index, direction)
            writers.stop()
        self.assertGreater(during, 50, "the leader and the other follower kept committing")
        present = self.assert_converged(writers.acked)
        self.assertIs(self.leader(), leader, "healing the follower moved leadership")
        self.assertEqual(leader.raft_term(), term, "healing the follower started an election")
        self.assertEqual(follower.raft_term(), term, "the follower's term ran ahead (no pre-vote?)")
        self.stop_all_gracefully()
        print("one-way, follower cut %s for 5s: term stayed %s; %d acknowledged during the cut, %d in all, "
              "%d present, longest wait between acknowledgements %.2fs, %d snapshot installs" %
              (direction, term, during, len(writers.acked), len(present), writers.longest_gap(),
               follower.read_log().count("installed snapshot")))

    def test_one_way_follower_whose_answers_are_lost(self):
        self.check_follower_one_way_cut_is_harmless("out")

    def test_one_way_follower_that_hears_nothing(self):
        self.check_follower_one_way_cut_is_harmless("in")

    def test_flapping_partition_under_concurrent_writers(self):
        rng = random.Random(ARGS.seed)
        writers = Writers(lambda: self.nodes, 4, seed=ARGS.seed).start()
        # One more writer talks only to nodes on the majority side: its
        # longest wait between acknowledgements measures unavailability.
        cut = [None]
        probe = Writers(lambda: [n for n in self.nodes if n.index != cut[0]], 1, seed=ARGS.seed, base=10 ** 8).start()
        isolated, changes, leaders, events = None, 0, set(), []
        try:
            deadline = time.time() + ARGS.flap_seconds
            while time.time() < deadline:
                time.sleep(rng.uniform(0.5, 2.5))
                if isolated is not None:
                    self.net.heal(isolated)
                choice = rng.choice([None, 1, 2, 3])
                cut[0] = choice
                if choice is not None:
                    self.net.isolate(choice)
                isolated = choice
                changes += 1
                leader = self.leader()
                if leader is not None:
                    leaders.add(leader.node_id)
                events.append((time.time(), choice, leader.node_id if leader else None))
        finally:
            self.net.heal_all()
            writers.stop()
            probe.stop()
        self.assertGreater(len(writers.acked), 20)
        present = self.assert_converged(writers.acked | probe.acked)
        start, end = probe.longest_gap_span()
        timeline = ["%+.1fs isolate %s (leader then %s)" % (t - start, c, l) for t, c, l in events
                    if start - 3 <= t <= end]
        self.assertLess(probe.longest_gap(), 15, "the majority side accepted no write for %.1fs: %s" %
                        (end - start, timeline))
        print("flapping: %d partition changes in %.0fs, leaders seen %s, %d acknowledged, %d refused, %d present, "
              "longest time without an acknowledged write %.1fs (majority-side writer: %.1fs)" %
              (changes, ARGS.flap_seconds, sorted(leaders), len(writers.acked), len(writers.refused), len(present),
               writers.longest_gap(), probe.longest_gap()))
        print("  during the longest majority-side gap: %s" % "; ".join(timeline))
        kinds = {}
        for v, text in writers.errors.items():
            kind = kinds.setdefault(text, [0, 0])
            kind[0] += 1
            kind[1] += v in present
        for text, (count, applied) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
            print("  error answer x%d, of which applied %d: %s" % (count, applied, text))
        # "leader not found" means nothing was proposed: a client may retry it
        # safely, so it must never have been applied.
        for text, (count, applied) in kinds.items():
            if "leader not found" in text:
                self.assertEqual(applied, 0, "writes answered '%s' were applied" % text)
        self.stop_all_gracefully()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--flap-seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tail-writes", type=int, default=1500)
    parser.add_argument("--cut-seconds", type=float, default=8, help="partition length in the snapshot-transfer case")
    parser.add_argument("--show-warnings", action="store_true", help="print every warning and error node logs hold")
    ARGS, rest = parser.parse_known_args()
    ok, why = namespaces_available()
    if not ok:
        print("SKIP: network namespaces unavailable (%s)" % why)
        sys.exit(SKIP_CODE)
    ARGS.rqlited = os.path.abspath(ARGS.rqlited)
    harness.run_tests([sys.argv[0]] + rest)
