"""Helpers for end-to-end tests: real rqlited processes on 127.0.0.1.

Each Node runs the real binary on free ports in its own temporary data
directory and is killed by PID. Only the Python standard library is used.
"""
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


# Sanitizer reports found in node logs (a sanitizer build of rqlited prints
# them to stderr, which goes to the log). run_tests() fails when any exist.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "WARNING: ThreadSanitizer")
SANITIZER_REPORTS = []


def run_tests(argv):
    """unittest.main, failing the run when a node reported a sanitizer error."""
    import unittest
    program = unittest.main(argv=argv, verbosity=2, exit=False)
    for report in SANITIZER_REPORTS:
        sys.stderr.write("sanitizer report from rqlited:\n" + report + "\n")
    ok = program.result.wasSuccessful() and not SANITIZER_REPORTS
    sys.exit(0 if ok else 1)


_HANDED_OUT = set()
_PORTS = random.Random(os.getpid() ^ time.time_ns())


def free_port():
    """A port nothing listens on, below Linux's ephemeral range (32768+).

    A port the kernel picks for bind(0) comes from that range, where every
    outgoing connection (clients, nodes joining, forwarding) also takes its
    local port: between this call and the node's listen, one of them could
    hold it ("Address already in use", seen in CI). Ports handed out in this
    process are not reused, so a stopped node's port stays its own.
    """
    for _ in range(1000):
        port = _PORTS.randrange(10000, 32000)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port below 32000")


# What a predicate polled by wait_for may raise while a node is starting,
# restarting or replaying.
RETRYABLE = (OSError, ValueError, KeyError, TypeError)


def wait_for(predicate, timeout=20, interval=0.05, what="condition", retry_on=RETRYABLE):
    """Polls predicate until it is true; AssertionError naming `what` after timeout."""
    deadline = time.time() + timeout
    last_error = None
    while time.time() < deadline:
        try:
            if predicate():
                return
        except retry_on as e:
            last_error = e
        time.sleep(interval)
    suffix = " (last error: %s)" % last_error if last_error is not None else ""
    raise AssertionError("timed out waiting for " + what + suffix)


def file_rows(node, sql):
    """Rows of `sql` read straight from the node's db.sqlite (read-only), as
    sqlite3 or Datasette would read the live file."""
    conn = sqlite3.connect("file:%s?mode=ro" % os.path.join(node.data_dir, "db.sqlite"), uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def start_cluster(binary, nodes, size=3):
    """Starts node 1, then nodes 2..size joined to it, appending each to
    `nodes` once started (the caller cleans up whatever is in it)."""
    n1 = Node(binary, node_id="1").start()
    nodes.append(n1)
    for number in range(2, size + 1):
        nodes.append(Node(binary, node_id=str(number), extra_args=["-join", n1.raft_addr]).start())
    return n1


def leader_of(nodes):
    """The running node among `nodes` that says it is the leader, or None."""
    for n in nodes:
        if n.proc is None or n.proc.poll() is not None:
            continue
        try:
            r = n.get("/status?key=store.raft.state", timeout=2)
            if r.status == 200 and r.json() == "Leader":
                return n
        except OSError:
            pass
    return None


def basic_auth(user, password):
    """Headers for HTTP basic auth."""
    import base64
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


class HttpResult:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body.decode("utf-8", "replace")


def http(method, url, body=None, headers=None, timeout=30):
    """One HTTP request; returns HttpResult for every status (no raise)."""
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if isinstance(body, (dict, list)) and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return HttpResult(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as e:
        return HttpResult(e.code, e.read(), dict(e.headers))


class Node:
    """A real rqlited process. Use as a context manager or call stop()."""

    def __init__(self, binary, node_id="1", data_dir=None, extra_args=None,
                 http_port=None, raft_port=None, keep_dir=False):
        self.binary = binary
        self.node_id = node_id
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="rqe2e-")
        self.http_port = http_port or free_port()
        self.raft_port = raft_port or free_port()
        self.extra_args = list(extra_args or [])
        self.keep_dir = keep_dir
        self.proc = None
        self.log_path = os.path.join(tempfile.gettempdir(),
                                     "rqe2e-%s-%d.log" % (node_id, self.http_port))

    @property
    def http_addr(self):
        return "127.0.0.1:%d" % self.http_port

    @property
    def raft_addr(self):
        return "127.0.0.1:%d" % self.raft_port

    @property
    def url(self):
        return "http://" + self.http_addr

    def args(self):
        return [self.binary, "-node-id", self.node_id,
                "-http-addr", self.http_addr, "-raft-addr", self.raft_addr,
                *self.extra_args, self.data_dir]

    def start(self, wait_leader=True, timeout=30):
        if getattr(self, "log", None):
            self.log.close()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_http(timeout)
        if wait_leader:
            self.wait_ready(timeout)
        return self

    def wait_http(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rqlited exited with %s; log:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rqlited did not listen in time; log:\n" + self.read_log())

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.get("/readyz", timeout=2)
                if last.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("node not ready: %s; log:\n%s" % (last and last.text(), self.read_log()))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self):
        """Graceful stop (SIGTERM), then SIGKILL if it hangs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def cleanup(self):
        self.kill()
        if getattr(self, "log", None):
            self.log.close()
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if any(marker in text for marker in SANITIZER_MARKERS):
                SANITIZER_REPORTS.append(text[-6000:])
        except OSError:
            pass
        if self.own_dir and not self.keep_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # --- API shortcuts ---
    def get(self, path, **kw):
        return http("GET", self.url + path, **kw)

    def post(self, path, body=None, **kw):
        return http("POST", self.url + path, body, **kw)

    def execute(self, statements, params=""):
        return self.post("/db/execute" + params, statements)

    def query(self, statements, params=""):
        return self.post("/db/query" + params, statements)
