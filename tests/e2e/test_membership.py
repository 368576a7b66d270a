"""End-to-end membership tests: real rqlited processes on 127.0.0.1.

Covers forming a cluster with -bootstrap-expect (and restarting it with the
same command lines), -bootstrap-expect-timeout, reaping of unreachable
voters and read replicas, -raft-remove-shutdown, -raft-cluster-remove-shutdown
and recovery from lost quorum with raft/peers.json (API.md 4.5, 4.11).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
FAST = ["-raft-election-timeout", "1s"]
leader_of = harness.leader_of


def wait_for(predicate, timeout=20, interval=0.1, what="condition"):
    harness.wait_for(predicate, timeout, interval, what, harness.RETRYABLE + (AssertionError,))


def alive(node):
    return node.proc is not None and node.proc.poll() is None


def member_ids(node, nonvoters=True):
    r = node.get("/nodes?ver=2" + ("&nonvoters" if nonvoters else ""), timeout=10)
    assert r.status == 200, r.text()
    return sorted(n["id"] for n in r.json()["nodes"])


def count(node, table="t", level="none"):
    r = node.query(["SELECT COUNT(*) FROM %s" % table], "?level=" + level)
    assert r.status == 200, r.text()
    result = r.json()["results"][0]
    assert "error" not in result, result
    return result["values"][0][0]


class DnsNode(harness.Node):
    """A node whose /etc/hosts is `hosts` and whose Raft address is fixed."""

    def __init__(self, binary, hosts, raft_addr, **kw):
        super().__init__(binary, **kw)
        self.hosts = hosts
        self.fixed_raft_addr = raft_addr

    @property
    def raft_addr(self):
        return self.fixed_raft_addr

    def args(self):
        inner = super().args()
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return ["unshare", "-m", "sh", "-c", script, self.hosts] + inner


class MembershipTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()

    def make(self, node_id, extra=None):
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=FAST + list(extra or []))
        self.nodes.append(node)
        return node

    def cluster_of_three(self, extra_by_id=None):
        """Node 1 bootstraps alone; 2 and 3 join it. Returns the nodes."""
        extra_by_id = extra_by_id or {}
        n1 = self.make("1", extra_by_id.get("1"))
        n1.start()
        others = []
        for node_id in ("2", "3"):
            n = self.make(node_id, ["-join", n1.raft_addr] + list(extra_by_id.get(node_id, [])))
            n.start(wait_leader=False)
            others.append(n)
        nodes = [n1] + others
        wait_for(lambda: member_ids(n1) == ["1", "2", "3"], what="three members")
        for n in others:
            n.wait_ready()
        return nodes

    # ---- -bootstrap-expect -------------------------------------------------

    def test_bootstrap_expect_forms_a_cluster_and_restarts_with_the_same_command_line(self):
        nodes = [self.make(str(i)) for i in (1, 2, 3)]
        join = ",".join(n.raft_addr for n in nodes)
        for n in nodes:
            n.extra_args += ["-bootstrap-expect", "3", "-join", join]
        for n in nodes:
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        leader = leader_of(nodes)
        for n in nodes:
            wait_for(lambda n=n: member_ids(n) == ["1", "2", "3"], what="membership on node " + n.node_id)
        self.assertEqual(leader.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"]).status, 200)
        for n in nodes:
            wait_for(lambda n=n: count(n) == 1, what="the row on node " + n.node_id)
        # Every node wrote the same bootstrap entries: one cluster, one term-1 history.
        # Restart all three with the unchanged command lines: no new bootstrap.
        for n in nodes:
            n.stop()
        for n in nodes:
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader after restart")
        leader = leader_of(nodes)
        self.assertEqual(leader.execute(["INSERT INTO t VALUES(2)"]).status, 200)
        for n in nodes:
            wait_for(lambda n=n: count(n) == 2, what="both rows on node " + n.node_id)
            self.assertIn("node already belongs to a cluster; not bootstrapping", n.read_log())
        self.assertEqual(member_ids(leader), ["1", "2", "3"])

    def test_bootstrap_expect_with_a_later_node_joining(self):
        nodes = [self.make(str(i)) for i in (1, 2)]
        join = ",".join(n.raft_addr for n in nodes)
        for n in nodes:
            n.extra_args += ["-bootstrap-expect", "2", "-join", join]
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        # A third node given the same list (scale-up) joins the running cluster.
        n3 = self.make("3", ["-bootstrap-expect", "2", "-join", join])
        n3.start(wait_leader=False)
        wait_for(lambda: member_ids(leader_of(nodes)) == ["1", "2", "3"], timeout=30, what="node 3 joined")
        self.assertEqual(leader_of(nodes).execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(7)"]).status,
                         200)
        wait_for(lambda: count(n3) == 1, what="the row on node 3")

    def test_bootstrap_expect_timeout_stops_the_node_with_a_clear_error(self):
        absent = harness.free_port()
        n1 = self.make("1", ["-bootstrap-expect", "2", "-bootstrap-expect-timeout", "3s",
                             "-join", "127.0.0.1:%d" % absent])
        n1.start(wait_leader=False)
        n1.proc.wait(timeout=30)
        self.assertEqual(n1.proc.returncode, 1)
        log = n1.read_log()
        self.assertIn("bootstrap-expect", log)
        self.assertIn("heard from 1 of 2", log)

    def test_dns_discovery_forms_a_cluster(self):
        # The name resolves through a private /etc/hosts (a mount namespace
        # per node) to 127.0.0.1-3; every node uses the same Raft port.
        if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
            self.skipTest("mount namespaces are not available")
        scratch = tempfile.mkdtemp(prefix="rqe2e-hosts-")
        self.addCleanup(shutil.rmtree, scratch, True)
        hosts = os.path.join(scratch, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
            for i in (1, 2, 3):
                f.write("127.0.0.%d rqlite-e2e.test\n" % i)
        raft_port = harness.free_port()
        nodes = []
        for i in (1, 2, 3):
            n = DnsNode(ARGS.rqlited, hosts, "127.0.0.%d:%d" % (i, raft_port), node_id=str(i),
                        extra_args=FAST + ["-disco-mode", "dns", "-disco-config", '{"name": "rqlite-e2e.test"}',
                                           "-bootstrap-expect", "3"])
            self.nodes.append(n)
            nodes.append(n)
        for n in nodes:
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        self.assertEqual(member_ids(leader_of(nodes)), ["1", "2", "3"])
        self.assertEqual(leader_of(nodes).execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        for n in nodes:
            wait_for(lambda n=n: count(n) == 0, what="table on node " + n.node_id)

    def test_dns_hosts_override_forms_a_cluster_as_in_rqlite(self):
        # rqlite's DNS client answers with RQLITE_DISCO_DNS_HOSTS instead of a
        # lookup (rqlite's own end-to-end tests cluster this way).
        nodes = [self.make(str(i), ["-disco-mode", "dns", "-disco-config", '{"name": "rqlite.cluster"}',
                                    "-bootstrap-expect", "3"]) for i in (1, 2, 3)]
        os.environ["RQLITE_DISCO_DNS_HOSTS"] = ",".join(n.raft_addr for n in nodes)
        try:
            for n in nodes:
                n.start(wait_leader=False)
        finally:
            del os.environ["RQLITE_DISCO_DNS_HOSTS"]
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        self.assertEqual(member_ids(leader_of(nodes)), ["1", "2", "3"])

    def test_sigterm_while_waiting_for_peers_stops_the_node_promptly(self):
        absent = harness.free_port()
        n1 = self.make("1", ["-bootstrap-expect", "2", "-join", "127.0.0.1:%d" % absent])
        n1.start(wait_leader=False)
        time.sleep(1)
        start = time.time()
        n1.proc.send_signal(signal.SIGTERM)
        n1.proc.wait(timeout=10)
        self.assertLess(time.time() - start, 3)
        self.assertIn("before the node joined a cluster", n1.read_log())

    # ---- reaping -----------------------------------------------------------

    def test_leader_reaps_an_unreachable_voter_and_read_replica(self):
        reap = ["-raft-reap-node-timeout", "3s", "-raft-reap-read-only-node-timeout", "2s"]
        nodes = self.cluster_of_three({"1": reap, "2": reap, "3": reap})
        n1 = nodes[0]
        replica = self.make("4", ["-join", n1.raft_addr, "-raft-non-voter"])
        replica.start(wait_leader=False)
        wait_for(lambda: member_ids(n1) == ["1", "2", "3", "4"], what="replica joined")
        # Reachable members are never reaped.
        time.sleep(4)
        self.assertEqual(member_ids(n1), ["1", "2", "3", "4"])
        replica.kill()
        nodes[2].kill()
        wait_for(lambda: member_ids(n1) == ["1", "2"], timeout=20, what="nodes 3 and 4 reaped")
        self.assertIn("reaper: removing node 3", n1.read_log())
        self.assertIn("reaper: removing node 4", n1.read_log())
        # The remaining two still form a working cluster.
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        wait_for(lambda: count(nodes[1]) == 0, what="table on node 2")

    # ---- removal and shutdown -------------------------------------------------

    def test_remove_shutdown_stops_a_removed_node(self):
        nodes = self.cluster_of_three({"3": ["-raft-remove-shutdown"]})
        n1, n2, n3 = nodes
        r = harness.http("DELETE", n1.url + "/remove", {"id": "3"})
        self.assertEqual(r.status, 200, r.text())
        n3.proc.wait(timeout=20)
        self.assertEqual(n3.proc.returncode, 0)
        self.assertIn("removed from the cluster", n3.read_log())
        self.assertEqual(member_ids(n1), ["1", "2"])
        # Removed through a follower (forwarded to the leader), and without
        # -raft-remove-shutdown: the node is told but keeps running.
        r = harness.http("DELETE", n2.url + "/remove", {"id": "2"})
        self.assertEqual(r.status, 200, r.text())
        wait_for(lambda: member_ids(n1) == ["1"], what="node 2 removed through a follower")
        self.assertTrue(alive(n2))
        wait_for(lambda: "the leader removed this node" in n2.read_log(), what="node 2 told")
        self.assertNotIn("-raft-remove-shutdown", n2.read_log())
        time.sleep(1)
        self.assertTrue(alive(n2))

    def test_cluster_remove_shutdown_removes_the_node_on_sigterm(self):
        flag = ["-raft-cluster-remove-shutdown"]
        nodes = self.cluster_of_three({"1": flag, "2": flag, "3": flag})
        n1, n2, n3 = nodes
        n3.stop()
        self.assertEqual(n3.proc.returncode, 0)
        try:
            wait_for(lambda: member_ids(n1) == ["1", "2"], what="node 3 removed")
        except AssertionError:
            raise AssertionError("node 3 not removed; its log:\n%s\nleader log:\n%s" %
                                 (n3.read_log()[-2000:], n1.read_log()[-2000:]))
        # The leader too: it hands over leadership, then removes itself.
        n1.stop()
        self.assertEqual(n1.proc.returncode, 0)
        wait_for(lambda: leader_of([n2]) is n2, what="node 2 leads")
        wait_for(lambda: member_ids(n2) == ["2"], what="node 1 removed")
        self.assertEqual(n2.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)

    def test_a_node_that_removed_itself_comes_back_with_the_same_flags(self):
        # rqlite's own scenario: -bootstrap-expect 3 with every node in -join,
        # one stopped (it removes itself), then started again as it was.
        nodes = [self.make(str(i)) for i in (1, 2, 3)]
        everyone = ",".join(n.raft_addr for n in nodes)
        for n in nodes:
            n.extra_args += ["-bootstrap-expect", "3", "-join", everyone, "-raft-cluster-remove-shutdown"]
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        n3 = nodes[2]
        if leader_of(nodes) is n3:
            self.assertEqual(n3.post("/leader").status, 200)
            wait_for(lambda: leader_of(nodes[:2]) is not None, what="leadership moved off node 3")
        n3.stop()
        leader = leader_of(nodes[:2])
        wait_for(lambda: member_ids(leader) == ["1", "2"], what="node 3 removed")
        n3.start(wait_leader=False)
        try:
            wait_for(lambda: member_ids(leader) == ["1", "2", "3"], timeout=30, what="node 3 a member again")
            n3.wait_ready()
        except (AssertionError, RuntimeError):
            raise AssertionError("node 3 did not come back; its log:\n" + n3.read_log()[-3000:])
        self.assertEqual(leader.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"]).status, 200)
        wait_for(lambda: count(n3) == 1, what="the write on node 3")
        self.assertEqual(leader_of(nodes), leader)

    # ---- -raft-shutdown-stepdown ---------------------------------------------

    def test_a_stopping_leader_hands_over_leadership_first(self):
        # Default on: SIGTERM on the leader moves leadership before exiting,
        # so the others need not wait out an election timeout (1 s here).
        n1, n2, n3 = self.cluster_of_three()
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        n1.stop()
        stopped = time.monotonic()
        self.assertEqual(n1.proc.returncode, 0)
        self.assertIn("stepping down before shutdown: OK", n1.read_log())
        wait_for(lambda: leader_of([n2, n3]) is not None, what="a new leader")
        self.assertLess(time.monotonic() - stopped, 0.9, "the others waited for an election timeout")
        self.assertEqual(leader_of([n2, n3]).execute(["INSERT INTO t VALUES(1)"]).status, 200)

    def test_shutdown_stepdown_off_leaves_the_others_to_elect(self):
        off = ["-raft-shutdown-stepdown=false"]
        n1, n2, n3 = self.cluster_of_three({"1": off})
        n1.stop()
        self.assertNotIn("stepping down before shutdown", n1.read_log())
        wait_for(lambda: leader_of([n2, n3]) is not None, timeout=10, what="a new leader")

    def test_a_leader_left_alone_stops_within_an_election_timeout(self):
        # No follower to hand over to: the attempt gives up after one
        # election timeout instead of holding the exit longer.
        n1, n2, n3 = self.cluster_of_three()
        n2.kill()
        n3.kill()
        started = time.monotonic()
        n1.stop()
        self.assertEqual(n1.proc.returncode, 0)
        self.assertLess(time.monotonic() - started, 3.0)

    # ---- lost quorum: peers.json -------------------------------------------------

    def test_peers_json_recovers_a_node_after_quorum_loss(self):
        nodes = self.cluster_of_three()
        n1, n2, n3 = nodes
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        for i in range(50):
            self.assertEqual(n1.execute([["INSERT INTO t VALUES(?)", i]]).status, 200)
        n2.kill()
        n3.kill()
        # No quorum: writes cannot commit.
        r = n1.execute(["INSERT INTO t VALUES(-1)"], "?timeout=2s")
        self.assertNotEqual(r.status, 200)
        n1.kill()
        peers = [{"id": "1", "address": n1.raft_addr, "non_voter": False}]
        with open(os.path.join(n1.data_dir, "raft", "peers.json"), "w") as f:
            json.dump(peers, f)
        n1.start(wait_leader=True)
        self.assertTrue(os.path.exists(os.path.join(n1.data_dir, "raft", "peers.info")))
        self.assertFalse(os.path.exists(os.path.join(n1.data_dir, "raft", "peers.json")))
        self.assertEqual(member_ids(n1), ["1"])
        # Every acknowledged write survived; the unacknowledged one may or may
        # not have (rqlite applies the whole log).
        self.assertIn(count(n1, level="strong"), (50, 51))
        self.assertEqual(n1.execute(["INSERT INTO t VALUES(100)"]).status, 200)
        # The recovered node takes new members as usual, and restarts normally.
        n4 = self.make("4", ["-join", n1.raft_addr])
        n4.start(wait_leader=False)
        wait_for(lambda: count(n4) == count(n1), what="node 4 caught up")
        # The new node took its membership from the recovery snapshot, not
        # from the old configuration entries (the log was dropped).
        self.assertEqual(member_ids(n4), ["1", "4"])
        self.assertEqual(n4.get("/status?key=store.raft.num_peers").json(), 1)
        n1.stop()
        n1.start(wait_leader=False)
        wait_for(lambda: leader_of([n1, n4]) is not None, timeout=30, what="leader after restart")
        self.assertEqual(member_ids(leader_of([n1, n4])), ["1", "4"])

    def test_a_bad_peers_json_is_refused_by_name(self):
        n1 = self.make("1")
        n1.start()
        self.assertEqual(n1.execute(["CREATE TABLE t (v INTEGER)"]).status, 200)
        n1.stop()
        with open(os.path.join(n1.data_dir, "raft", "peers.json"), "w") as f:
            f.write('[{"id": "1"}]')
        proc = subprocess.run(n1.args(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"peers.json", proc.stdout)
        self.assertIn(b"address", proc.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
