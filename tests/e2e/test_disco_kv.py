"""End-to-end tests of -disco-mode consul-kv and etcd-kv (API.md 4.11).

Each test runs a small fake of the service in this process (Consul's KV
HTTP API, or etcd's v3 JSON gateway) with real check-and-set semantics,
then real rqlited processes on 127.0.0.1 that all get the same
-disco-config: they must form one cluster, the leader must keep the key
naming itself across a failover, and a node started later must join.
The same scenario then runs against a real etcd server (Debian's
etcd-server, installed by scripts/install-deps.sh) with authentication on,
so the fake's reading of etcd's gateway is checked against etcd itself.
"""
import argparse
import base64
import json
import os
import shutil
import ssl
import tempfile
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
FAST = ["-raft-election-timeout", "1s"]
leader_of = harness.leader_of


def wait_for(predicate, timeout=20, interval=0.1, what="condition"):
    harness.wait_for(predicate, timeout, interval, what, harness.RETRYABLE + (AssertionError,))


def b64(data):
    return base64.b64encode(data).decode()


class FakeKv:
    """Keys in memory; subclasses speak one service's HTTP dialect."""

    def __init__(self, certs=None):
        self.certs = certs  # a directory with node.pem/node.key: serve https
        self.lock = threading.Lock()
        self.keys = {}  # bytes key -> bytes value
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.serve(self)

            do_PUT = do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(os.path.join(certs, "node.pem"), os.path.join(certs, "node.key"))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def serve(self, request):
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        with self.lock:
            self.calls += 1
            status, answer = self.handle(request.command, request.path, body)
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)

    def record(self, key):
        with self.lock:
            value = self.keys.get(key)
        return json.loads(value) if value is not None else None


class FakeConsul(FakeKv):
    mode = "consul-kv"

    def config(self):
        if self.certs:
            return json.dumps({"address": "127.0.0.1:%d" % self.port, "scheme": "https",
                               "tls_config": {"ca_file": os.path.join(self.certs, "ca.pem")}})
        return json.dumps({"address": "127.0.0.1:%d" % self.port})

    def key(self, disco_key):
        return ("rqlite/%s/leader" % disco_key).encode()

    def handle(self, method, path, body):
        url = urlsplit(path)
        if not url.path.startswith("/v1/kv/"):
            return 404, b""
        key = unquote(url.path[len("/v1/kv/"):]).encode()
        query = parse_qs(url.query)
        if method == "GET":
            if key not in self.keys:
                return 404, b""
            entry = {"Key": key.decode(), "Value": b64(self.keys[key]), "CreateIndex": 1, "ModifyIndex": 2}
            return 200, json.dumps([entry]).encode()
        if method == "PUT":
            if query.get("cas") == ["0"] and key in self.keys:
                return 200, b"false"
            self.keys[key] = body
            return 200, b"true"
        return 405, b""


class FakeEtcd(FakeKv):
    mode = "etcd-kv"

    def config(self):
        return json.dumps({"endpoints": ["http://127.0.0.1:%d" % self.port]})

    def key(self, disco_key):
        return ("/%s/leader" % disco_key).encode()

    def handle(self, method, path, body):
        if method != "POST":
            return 405, b""
        request = json.loads(body)
        if path == "/v3/kv/range":
            key = base64.b64decode(request["key"])
            if key not in self.keys:
                return 200, b'{"header":{"revision":"7"}}'
            kv = {"key": request["key"], "value": b64(self.keys[key]), "create_revision": "3", "version": "1"}
            return 200, json.dumps({"header": {}, "kvs": [kv], "count": "1"}).encode()
        if path == "/v3/kv/put":
            self.keys[base64.b64decode(request["key"])] = base64.b64decode(request.get("value", ""))
            return 200, b'{"header":{"revision":"8"}}'
        if path == "/v3/kv/txn":
            compare = request["compare"][0]
            key = base64.b64decode(compare["key"])
            absent_wanted = compare["target"] in ("CREATE", "VERSION") and \
                str(compare.get("create_revision", compare.get("version", "0"))) == "0"
            if not absent_wanted or key in self.keys:
                return 200, b'{"header":{}}'  # proto3 JSON leaves out "succeeded": false
            put = request["success"][0]["request_put"]
            self.keys[base64.b64decode(put["key"])] = base64.b64decode(put.get("value", ""))
            return 200, b'{"header":{},"succeeded":true}'
        return 404, b'{"error":"Not Found","code":5}'


class RealEtcd:
    """An etcd server of its own (free ports, a temporary data directory)
    with authentication on: the nodes must log in with the username and
    password of their -disco-config."""
    mode = "etcd-kv"
    user, password = "root", "e2e-secret"

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rqe2e-etcd-")
        self.port, peer_port = harness.free_port(), harness.free_port()
        url = "http://127.0.0.1:%d" % self.port
        peer = "http://127.0.0.1:%d" % peer_port
        self.log = open(os.path.join(self.dir, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("etcd"), "--name", "e2e", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "e2e=" + peer],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.post("/v3/maintenance/status", {}) is not None, timeout=30, what="etcd up")
        self.post("/v3/auth/user/add", {"name": self.user, "password": self.password})
        self.post("/v3/auth/user/grant", {"user": self.user, "role": "root"})
        self.post("/v3/auth/enable", {})
        self.token = self.post("/v3/auth/authenticate", {"name": self.user, "password": self.password})["token"]

    def post(self, path, body, token=None):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        if token:
            request.add_header("Authorization", token)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def config(self):
        return json.dumps({"endpoints": ["http://127.0.0.1:%d" % self.port],
                           "username": self.user, "password": self.password})

    def key(self, disco_key):
        return ("/%s/leader" % disco_key).encode()

    def record(self, key):
        answer = self.post("/v3/kv/range", {"key": b64(key)}, self.token)
        kvs = answer.get("kvs") or []
        return json.loads(base64.b64decode(kvs[0]["value"])) if kvs else None

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def member_ids(node):
    r = node.get("/nodes?ver=2&nonvoters", timeout=10)
    assert r.status == 200, r.text()
    return sorted(n["id"] for n in r.json()["nodes"])


def voter_ids(node):
    r = node.get("/nodes?ver=2", timeout=10)
    assert r.status == 200, r.text()
    return sorted(n["id"] for n in r.json()["nodes"] if n.get("voter"))


def count(node):
    r = node.query(["SELECT COUNT(*) FROM t"], "?level=none")
    assert r.status == 200, r.text()
    result = r.json()["results"][0]
    assert "error" not in result, result
    return result["values"][0][0]


class DiscoKvScenario:
    """The scenario, run once per service by the subclasses below."""
    fake_class = None

    def setUp(self):
        self.fake = self.fake_class()
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        self.fake.stop()

    def make(self, node_id, extra=()):
        args = FAST + ["-disco-mode", self.fake.mode, "-disco-key", "e2e", "-disco-config", self.fake.config()]
        args += list(extra)
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=args)
        self.nodes.append(node)
        return node

    def assert_key_names(self, node):
        record = self.fake.record(self.fake.key("e2e"))
        self.assertIsNotNone(record)
        self.assertEqual(record, {"id": node.node_id, "api_addr": node.url, "addr": node.raft_addr})

    def key_names(self, node):
        record = self.fake.record(self.fake.key("e2e"))
        return record is not None and record.get("id") == node.node_id

    def test_nodes_form_one_cluster_follow_failover_and_admit_a_late_node(self):
        nodes = [self.make(str(i)) for i in (1, 2, 3)]
        for n in nodes:
            n.start(wait_leader=False)
        wait_for(lambda: leader_of(nodes) is not None, timeout=30, what="a leader")
        for n in nodes:
            wait_for(lambda n=n: member_ids(n) == ["1", "2", "3"], timeout=30,
                     what="membership on node " + n.node_id)
        # Joiners start as learners: the failover below needs them voting.
        wait_for(lambda: voter_ids(leader_of(nodes)) == ["1", "2", "3"], timeout=30, what="three voters")
        states = [n.get("/status?key=store.raft.state").json() for n in nodes]
        self.assertEqual(states.count("Leader"), 1, states)
        leader = leader_of(nodes)
        wait_for(lambda: self.key_names(leader), what="the key naming the leader")
        self.assert_key_names(leader)
        disco = leader.get("/status").json()["disco"]
        self.assertEqual(disco["mode"], self.fake.mode)
        self.assertNotEqual(disco["last_contact"], "")
        self.assertEqual(leader.execute(["CREATE TABLE t (v INTEGER)", "INSERT INTO t VALUES(1)"]).status, 200)
        for n in nodes:
            wait_for(lambda n=n: count(n) == 1, what="the row on node " + n.node_id)

        # Failover: the new leader rewrites the key.
        leader.kill()
        rest = [n for n in nodes if n is not leader]
        wait_for(lambda: leader_of(rest) is not None, timeout=30, what="a new leader")
        new_leader = leader_of(rest)
        wait_for(lambda: self.key_names(new_leader), timeout=20, what="the key naming the new leader")
        self.assert_key_names(new_leader)

        # A node started later joins through the key.
        late = self.make("4")
        late.start(wait_leader=False)
        wait_for(lambda: "4" in member_ids(leader_of(rest)), timeout=30, what="node 4 joined")
        wait_for(lambda: count(late) == 1, timeout=20, what="the row on node 4")
        self.assertIn("joining the cluster through " + new_leader.raft_addr, late.read_log())
        # A read replica finds the leader the same way and never claims the key.
        replica = self.make("5", ["-raft-non-voter"])
        replica.start(wait_leader=False)
        wait_for(lambda: "5" in member_ids(leader_of(rest)), timeout=30, what="read replica 5 joined")
        wait_for(lambda: count(replica) == 1, timeout=20, what="the row on the read replica")
        self.assert_key_names(new_leader)

        # A node with state does not register again; it rejoins as it was.
        leader.start(wait_leader=False)
        wait_for(lambda: count(leader) == 1, timeout=30, what="the old leader back")
        self.assertIn("not registering with " + self.fake.mode, leader.read_log())

    def test_a_bad_config_stops_the_node_with_a_clear_error(self):
        node = harness.Node(ARGS.rqlited, node_id="1",
                            extra_args=["-disco-mode", self.fake.mode, "-disco-config", '{"endpoints": 5, "address": 5}'])
        self.nodes.append(node)
        proc = subprocess.run(node.args(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"-disco-config for " + self.fake.mode.encode(), proc.stdout)


def make_certs():
    """A CA and a server certificate for 127.0.0.1, made with the openssl CLI."""
    d = tempfile.mkdtemp(prefix="rqe2e-disco-tls-")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for command in ("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj /CN=test-ca -days 2 -out ca.pem",
                    "openssl req -newkey rsa:2048 -nodes -keyout node.key -subj /CN=consul -out node.csr",
                    "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
                    "-extfile san.ext -out node.pem"):
        subprocess.run(command, shell=True, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return d


class ConsulHttpsTest(unittest.TestCase):
    """Consul over https: the CA in tls_config.ca_file is trusted; without it
    the certificate is refused and the node keeps trying."""

    def setUp(self):
        self.certs = make_certs()
        self.fake = FakeConsul(self.certs)
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            n.cleanup()
        self.fake.stop()
        shutil.rmtree(self.certs, ignore_errors=True)

    def test_a_node_claims_the_key_over_verified_tls(self):
        node = harness.Node(ARGS.rqlited, node_id="1",
                            extra_args=FAST + ["-disco-mode", "consul-kv", "-disco-config", self.fake.config()])
        self.nodes.append(node)
        node.start(wait_leader=True)
        wait_for(lambda: (self.fake.record(self.fake.key("rqlite")) or {}).get("id") == "1", what="the key")
        self.assertEqual(self.fake.record(self.fake.key("rqlite"))["addr"], node.raft_addr)

    def test_an_untrusted_certificate_is_refused(self):
        config = json.dumps({"address": "https://127.0.0.1:%d" % self.fake.port})
        node = harness.Node(ARGS.rqlited, node_id="1",
                            extra_args=FAST + ["-disco-mode", "consul-kv", "-disco-config", config])
        self.nodes.append(node)
        node.start(wait_leader=False)
        wait_for(lambda: "certificate verify failed" in node.read_log(), what="a refused certificate")
        self.assertIsNone(self.fake.record(self.fake.key("rqlite")))


class ConsulKvTest(DiscoKvScenario, unittest.TestCase):
    fake_class = FakeConsul


class EtcdKvTest(DiscoKvScenario, unittest.TestCase):
    fake_class = FakeEtcd


@unittest.skipIf(shutil.which("etcd") is None, "no etcd binary (scripts/install-deps.sh installs etcd-server)")
class RealEtcdKvTest(DiscoKvScenario, unittest.TestCase):
    fake_class = RealEtcd

    def test_wrong_credentials_are_reported_and_retried(self):
        # Not fatal: the operator may fix the etcd user while the node waits
        # (as for an unreachable etcd), but every attempt says why.
        node = harness.Node(ARGS.rqlited, node_id="1", extra_args=[
            "-disco-mode", "etcd-kv", "-disco-key", "e2e", "-disco-config",
            json.dumps({"endpoints": ["http://127.0.0.1:%d" % self.fake.port],
                        "username": self.fake.user, "password": "wrong"})])
        self.nodes.append(node)
        node.start(wait_leader=False)
        wait_for(lambda: "authentication failed, invalid user ID or password" in node.read_log(),
                 what="the etcd refusal in the log")
        self.assertIsNone(self.fake.record(self.fake.key("e2e")))
        self.assertNotEqual(node.get("/status?key=store.raft.state").json(), "Leader")

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
