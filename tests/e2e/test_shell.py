"""End-to-end: the `rqlite` shell against one real rqlited node.

An interactive session runs through a pseudo-terminal (libedit line editing,
banner, prompt, exact result grids, dot-commands, multi-line input, history
file); scripted use runs through argv and a piped stdin and checks output and
exit codes. The node runs on free 127.0.0.1 ports and is killed by PID.
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")

GRID = ("+----+-------+\n"
        "| id | name  |\n"
        "+----+-------+\n"
        "| 1  | fiona |\n"
        "+----+-------+\n")


def clean(raw):
    """Terminal bytes -> plain text: no escape sequences, no carriage returns."""
    return ANSI.sub(b"", raw).replace(b"\r", b"").decode("utf-8", "replace")


class PtyShell:
    """The shell on a pseudo-terminal, driven line by line."""

    def __init__(self, argv, env):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.raw = pid, fd, b""
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))

    def read_until(self, needle, timeout=20):
        """Reads until clean(output) contains needle; returns text since mark."""
        deadline = time.time() + timeout
        while needle not in clean(self.raw):
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got:\n%s" % (needle, clean(self.raw)))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("shell exited waiting for %r; got:\n%s" % (needle, clean(self.raw)))
                self.raw += chunk
        text = clean(self.raw)
        self.raw = b""
        return text

    def send(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    self.raw += os.read(self.fd, 65536)
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("shell did not exit")


class ShellTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = harness.Node(ARGS.rqlited)
        cls.node.start()
        cls.home = tempfile.mkdtemp(prefix="rqshell-home-")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "TERM": "dumb"}
        env.update(extra)
        return env

    def run_cli(self, *args, stdin=None, port=None):
        argv = [ARGS.rqlite, "-p", str(port or self.node.http_port), *args]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                              env=self.env())

    def test_1_interactive_session(self):
        port = self.node.http_port
        prompt = "127.0.0.1:%d> " % port
        sh = PtyShell([ARGS.rqlite, "-p", str(port)], self.env())
        banner = sh.read_until(prompt)
        self.assertIn("Welcome to the rqlite CLI.\n", banner)
        self.assertIn('Enter ".help" for usage hints.\n', banner)
        self.assertRegex(banner, r"Connected to http://127\.0\.0\.1:%d running version \S+\n" % port)

        sh.send("CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)")
        self.assertIn("0 row affected\n", sh.read_until(prompt))
        sh.send('INSERT INTO foo(name) VALUES("fiona")')
        self.assertIn("1 row affected\n", sh.read_until(prompt))
        sh.send("SELECT * FROM foo")
        self.assertIn(GRID, sh.read_until(prompt))
        sh.send(".tables")
        self.assertIn("+------+\n| name |\n+------+\n| foo  |\n+------+\n", sh.read_until(prompt))
        sh.send(".schema")
        self.assertIn("| CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT) |\n",
                      sh.read_until(prompt))
        sh.send(".mode csv")
        sh.read_until(prompt)
        sh.send("SELECT * FROM foo")
        self.assertIn("id,name\n1,fiona\n", sh.read_until(prompt))
        sh.send(".timer on")
        sh.read_until(prompt)

        # Multi-line: the statement continues until SQLite says it is complete.
        sh.send("INSERT INTO foo(name)")
        sh.send("VALUES('declan')")
        out = sh.read_until(prompt)
        self.assertIn("...> ", out)
        self.assertRegex(out, r"1 row affected \(\d+\.\d{6} sec\)\n")
        sh.send("SELECT name FROM foo ORDER BY")
        sh.send("  id DESC;")
        out = sh.read_until(prompt)
        self.assertIn("name\ndeclan\nfiona\n", out)
        self.assertRegex(out, r"Run Time: \d+\.\d{6} seconds\n")

        sh.send("SELECT * FROM nosuch")
        self.assertIn("Error: no such table: nosuch\n", sh.read_until(prompt))
        sh.send(".Help")
        self.assertIn(".backup FILE", sh.read_until(prompt))
        sh.send(".exit")
        self.assertIn("bye~\n", sh.read_until("bye~"))
        self.assertEqual(sh.wait(), 0)

        with open(os.path.join(self.home, ".rqlite_history")) as f:
            history = f.read().splitlines()
        self.assertIn("SELECT * FROM foo", history)
        self.assertIn("INSERT INTO foo(name) VALUES('declan')", history)

    def test_2_argv_statements_run_and_exit(self):
        r = self.run_cli("SELECT id, name FROM foo WHERE id = 1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, GRID)
        self.assertNotIn("Welcome", r.stdout)

    def test_3_failed_statement_gives_nonzero_exit(self):
        r = self.run_cli("SELECT * FROM nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Error: no such table: nosuch", r.stderr)

    def test_4_piped_stdin_runs_until_eof_without_prompt(self):
        script = ("CREATE TABLE t2 (x INTEGER);\n"
                  "INSERT INTO t2 VALUES(1);\n"
                  "INSERT INTO t2\n"
                  "  VALUES(2);\n"
                  ".mode csv\n"
                  "SELECT x FROM t2 ORDER BY x;\n")
        r = self.run_cli(stdin=script)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The DDL line's count is the server's business (rqlite repeats the
        # previous statement's count); the shell prints whatever it gets.
        self.assertRegex(r.stdout, r"^\d rows? affected\n1 row affected\n1 row affected\nx\n1\n2\n$")
        # An error is printed between the results and the script goes on,
        # exit 0, as rqlite's shell does; --bail (sqlite3's -bail) stops there.
        r = self.run_cli(stdin="SELECT 1 AS a;\nSELEC 2;\nINSERT INTO nosuch VALUES(1);\nSELECT 3 AS b;\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?s)\| a \|.*Error: near \"SELEC\": syntax error\n"
                                   r"Error: no such table: nosuch\n.*\| b \|")
        for bail in ("--bail", "-bail"):
            r = self.run_cli(bail, stdin="SELECT 1 AS a;\nSELEC 2;\nSELECT 3 AS b;\n")
            self.assertEqual(r.returncode, 1, bail)
            self.assertIn("syntax error", r.stdout)
            self.assertNotIn("| b |", r.stdout)

    def test_5_backup_and_dump_stream_to_files(self):
        tmp = tempfile.mkdtemp(prefix="rqshell-files-")
        backup = os.path.join(tmp, "backup.db")
        dump = os.path.join(tmp, "dump.sql")
        r = self.run_cli(stdin=".backup %s\n.dump %s foo\n" % (backup, dump))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Backup file written successfully\nSQL text file written successfully\n")
        with open(backup, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\x00")
        with open(dump) as f:
            text = f.read()
        self.assertIn("CREATE TABLE foo", text)
        self.assertNotIn("CREATE TABLE t2", text)

    def test_6_status_prints_yaml_like_tree(self):
        r = self.run_cli(".status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^[a-z_]+:\n  \S")
        r = self.run_cli(".ready")
        self.assertEqual(r.stdout, "ready\n")

    def test_7_unreachable_server_is_a_clear_error(self):
        port = harness.free_port()
        started = time.time()
        r = self.run_cli("SELECT 1", port=port)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot reach rqlited at http://127.0.0.1:%d" % port, r.stderr)
        self.assertLess(time.time() - started, 10)
        sh = PtyShell([ARGS.rqlite, "-p", str(port)], self.env())
        out = sh.read_until("is it running?")
        self.assertIn("ERR! Unable to connect to rqlited at http://127.0.0.1:%d - is it running?" % port, out)
        self.assertEqual(sh.wait(), 1)

    def test_8_restore_loads_sql_dump_and_sqlite_file(self):
        tmp = tempfile.mkdtemp(prefix="rqshell-restore-")
        script = os.path.join(tmp, "load.sql")
        with open(script, "w") as f:
            f.write("CREATE TABLE r (x INTEGER);\nINSERT INTO r VALUES(7);\n")
        with harness.Node(ARGS.rqlited, node_id="r1") as fresh:
            r = self.run_cli(".restore %s" % script, port=fresh.http_port)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "Database restored successfully\n")
            backup = os.path.join(tmp, "r.db")
            r = self.run_cli(".backup %s" % backup, "INSERT INTO r VALUES(8)", port=fresh.http_port)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.run_cli(".restore %s" % backup, "SELECT x FROM r", port=fresh.http_port)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "Database restored successfully\n+---+\n| x |\n+---+\n| 7 |\n+---+\n")

    def test_9_alternatives_take_over_when_host_is_down(self):
        dead = harness.free_port()
        live = "127.0.0.1:%d" % self.node.http_port
        r = self.run_cli("-a", live, "SELECT 1 AS one", port=dead)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "+-----+\n| one |\n+-----+\n| 1   |\n+-----+\n")
        sh = PtyShell([ARGS.rqlite, "-p", str(dead), "-a", live], self.env())
        banner = sh.read_until(live + "> ")
        self.assertIn("Connected to http://%s running version" % live, banner)
        # Tab completes ".ta" to ".tables" (libedit), then Enter runs it.
        sh.send(".ta\t")
        self.assertIn(".tables", sh.read_until("| name |\n+------+\n"))
        sh.send("quit")
        sh.read_until("bye~")
        self.assertEqual(sh.wait(), 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--rqlite", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
