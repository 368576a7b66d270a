"""-cpu-profile, -mem-profile and -trace-profile: each file is written for
the node's whole run and is readable by the tool it is meant for: the CPU
profile by gperftools' google-pprof, the trace as Chrome trace-event JSON
holding every HTTP request and log fsync, the heap profile (the node runs
itself under tcmalloc for it) by google-pprof too, or in a sanitizer build
the text memory report. A file that cannot be created stops the start,
naming it.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
PPROF = shutil.which("google-pprof")


class ProfilesTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="rqe2e-prof-")
        self.nodes = []

    def tearDown(self):
        for node in self.nodes:
            node.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_all_three_files_are_written_at_shutdown(self):
        cpu, mem, trace = (os.path.join(self.work, n) for n in ("cpu.prof", "mem.prof", "trace.json"))
        node = harness.Node(ARGS.rqlited, extra_args=["-cpu-profile", cpu, "-mem-profile", mem,
                                                      "-trace-profile", trace])
        self.nodes.append(node)
        node.start()
        # The heap profiler runs the node again under tcmalloc: same process
        # (harness kills it by this PID), same name.
        with open("/proc/%d/comm" % node.proc.pid) as f:
            self.assertEqual(f.read().strip(), "rqlited")
        node.execute(["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"])
        writes = 300
        for i in range(writes):
            node.execute([["INSERT INTO t(v) VALUES(?)", "x" * 200 + str(i)]])
        for _ in range(50):
            node.query(["SELECT count(*), group_concat(v) FROM t"])
        node.stop()
        self.assertEqual(node.proc.returncode, 0, node.read_log())

        with open(cpu, "rb") as f:
            header = f.read(40)
        # gperftools' legacy CPU profile: words 0 (header count), 3 (header
        # words), 0 (version), the sampling period in microseconds.
        self.assertGreaterEqual(len(header), 40, "empty CPU profile")
        words = struct.unpack("<5Q", header)
        self.assertEqual(words[:3], (0, 3, 0))
        self.assertGreater(words[3], 0)
        if PPROF:
            text = subprocess.run([PPROF, "--text", ARGS.rqlited, cpu], capture_output=True, text=True, timeout=120)
            self.assertEqual(text.returncode, 0, text.stderr)
            self.assertIn("Total:", text.stdout + text.stderr)

        with open(trace) as f:
            events = json.load(f)["traceEvents"]
        executes = [e for e in events if e.get("cat") == "http" and e["name"] == "/db/execute"]
        self.assertEqual(len(executes), writes + 1)
        self.assertTrue(all(e["ph"] == "X" and e["dur"] > 0 and e["args"]["status"] == 200 for e in executes))
        self.assertGreater(len([e for e in events if e.get("cat") == "log" and e["name"] == "fsync"]), 0)
        self.assertEqual(len([e for e in events if e.get("name") == "/db/query"]), 50)

        with open(mem, errors="replace") as f:
            report = f.read()
        log = node.read_log()
        self.assertIn("memory at shutdown: VmRSS", log)
        if report.startswith("heap profile:"):
            self.assertIn("MAPPED_LIBRARIES", report)
            if PPROF:
                text = subprocess.run([PPROF, "--text", ARGS.rqlited, mem], capture_output=True, text=True,
                                      timeout=120)
                self.assertEqual(text.returncode, 0, text.stderr)
                self.assertIn("Total:", text.stdout + text.stderr)
        else:
            # A sanitizer build cannot run under tcmalloc: the text report,
            # and the log says why.
            self.assertIn("no heap profiler", log)
            for needle in ("VmRSS:", "VmHWM:", "sqlite3_memory_used", "in_use_bytes", "<malloc version"):
                self.assertIn(needle, report)

    def test_a_profile_file_that_cannot_be_created_stops_the_start(self):
        bad = os.path.join(self.work, "no-such-dir", "cpu.prof")
        node = harness.Node(ARGS.rqlited, extra_args=["-cpu-profile", bad])
        self.nodes.append(node)
        with self.assertRaises(RuntimeError) as raised:
            node.start(timeout=15)
        self.assertIn(bad, str(raised.exception))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
