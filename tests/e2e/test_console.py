"""The web console (/console/) in a real browser: headless Chromium driven by
Selenium (Debian's chromium, chromium-driver and python3-selenium).

Run with Debian's /usr/bin/python3 (where python3-selenium lives). Creates a
table and inserts through the UI, reads the grid back, lists the tables with
their row counts, opens the cluster page of a 3-node cluster, and logs in on
a node with -auth. Saves a screenshot when --screenshot is given. Skips,
saying which, when a component is missing.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ARGS = None
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM = None
except ImportError as e:  # pragma: no cover - reported as a skip
    SELENIUM = "python3-selenium is not importable (%s); run with /usr/bin/python3" % e

MISSING = SELENIUM or next((("%s not installed (scripts/install-deps.sh --tests)" % p)
                            for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)), None)


@unittest.skipIf(MISSING, MISSING or "")
class ConsoleTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.profile = tempfile.mkdtemp(prefix="rqe2e-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--ignore-certificate-errors", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--user-data-dir=" + self.profile,
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
            options.add_argument(flag)
        self.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.wait = WebDriverWait(self.browser, 20)

    def tearDown(self):
        try:
            self.browser.quit()
        finally:
            for node in self.nodes:
                node.cleanup()
            shutil.rmtree(self.profile, ignore_errors=True)

    def node(self, node_id, extra=None):
        node = harness.Node(ARGS.rqlited, node_id=node_id, extra_args=extra or [])
        self.nodes.append(node)
        return node

    def run_sql(self, sql):
        editor = self.browser.find_element(By.ID, "sql")
        editor.clear()
        editor.send_keys(sql)
        # Cleared first: two answers can read the same ("answered in 1.2 ms"),
        # so waiting for the text to change can wait forever; and an earlier
        # error must not pass for this statement's.
        self.browser.execute_script("document.getElementById('run-info').textContent = '';"
                                    "document.getElementById('results').replaceChildren();")
        editor.send_keys(Keys.CONTROL, Keys.ENTER)
        self.wait.until(lambda d: d.find_element(By.ID, "run-info").text.startswith("answered")
                        or d.find_elements(By.CSS_SELECTOR, "#results .error"))

    def grid(self, root="#results"):
        """(headers, types, rows) of the first result grid under `root`."""
        table = self.browser.find_element(By.CSS_SELECTOR, root + " table.result-grid")
        headers = [th.text.split("\n") for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        return [h[0] for h in headers], [h[1] if len(h) > 1 else "" for h in headers], rows

    def test_query_tables_cluster_and_status_pages(self):
        leader = self.node("1").start()
        for node_id in ("2", "3"):
            self.node(node_id, ["-join", leader.raft_addr]).start()
        self.browser.get(leader.url + "/console/")
        self.wait.until(EC.presence_of_element_located((By.ID, "sql")))

        self.run_sql("CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT, score REAL)")
        self.run_sql("INSERT INTO foo(name, score) VALUES('fiona', 1.5)")
        summary = self.browser.find_element(By.CSS_SELECTOR, "#results .summary").text
        self.assertIn("1 row(s) affected", summary)
        self.run_sql("INSERT INTO foo(name, score) VALUES('declan', NULL)")
        self.run_sql("SELECT * FROM foo ORDER BY id")
        names, types, rows = self.grid()
        self.assertEqual(names, ["id", "name", "score"])
        self.assertEqual(types, ["integer", "text", "real"])
        self.assertEqual(rows, [["1", "fiona", "1.5"], ["2", "declan", "NULL"]])
        # The write went through the cluster: a follower holds it.
        follower = self.nodes[1]
        harness.wait_for(lambda: follower.get("/db/query?q=SELECT%20COUNT(*)%20FROM%20foo").json()
                         ["results"][0]["values"][0][0] == 2, what="both rows on a follower")

        self.run_sql("SELECT nope FROM foo")
        error = self.browser.find_element(By.CSS_SELECTOR, "#results .error").text
        self.assertIn("no such column", error)

        # History is kept in the browser, newest first.
        history = self.browser.find_elements(By.CSS_SELECTOR, "#history li")
        self.assertEqual(history[0].get_attribute("textContent"), "SELECT nope FROM foo")
        self.assertEqual(len(history), 5)

        self.run_sql("SELECT * FROM foo ORDER BY id")
        if ARGS.screenshot:
            self.browser.save_screenshot(ARGS.screenshot)

        self.browser.get(leader.url + "/console/#tables")
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#tables tr[data-table="foo"]'))
        row = self.browser.find_element(By.CSS_SELECTOR, '#tables tr[data-table="foo"]')
        self.assertEqual(row.find_element(By.CLASS_NAME, "row-count").text, "2")
        row.find_element(By.XPATH, ".//button[text()='First 100 rows']").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#table-detail table.result-grid"))
        self.assertEqual(len(self.grid("#table-detail")[2]), 2)
        row.find_element(By.XPATH, ".//button[text()='Schema']").click()
        self.wait.until(lambda d: "CREATE TABLE foo" in d.find_element(By.ID, "table-detail").text)

        self.browser.get(leader.url + "/console/#cluster")
        self.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 3)
        roles = {tr.get_attribute("data-node"): tr.find_element(By.CLASS_NAME, "role").text
                 for tr in self.browser.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")}
        self.assertEqual(roles, {"1": "leader", "2": "follower", "3": "follower"})
        reachable = [td.text for td in self.browser.find_elements(By.CSS_SELECTOR, "#nodes td.reachable")]
        self.assertEqual(reachable, ["yes", "yes", "yes"])
        applied = self.browser.find_element(By.CSS_SELECTOR, '#raft tr[data-key="applied_index"] td').text
        self.assertGreaterEqual(int(applied), 3)

        self.browser.get(leader.url + "/console/#status")
        self.wait.until(lambda d: '"store"' in d.find_element(By.ID, "status").text)

    def test_login_when_auth_is_on(self):
        auth_dir = tempfile.mkdtemp(prefix="rqe2e-auth-")
        self.addCleanup(shutil.rmtree, auth_dir, True)
        auth_file = os.path.join(auth_dir, "auth.json")
        with open(auth_file, "w") as f:
            json.dump([{"username": "admin", "password": "s3cret", "perms": ["all"]},
                       {"username": "*", "perms": ["ready", "ui"]}], f)
        node = self.node("1", ["-auth", auth_file]).start()
        self.browser.get(node.url + "/console/")
        dialog = self.wait.until(EC.visibility_of_element_located((By.ID, "login")))
        self.browser.find_element(By.ID, "login-user").send_keys("admin")
        self.browser.find_element(By.ID, "login-password").send_keys("wrong")
        self.browser.find_element(By.ID, "login-submit").click()
        # The wrong password is refused and asked for again.
        self.wait.until(lambda d: d.find_element(By.ID, "login-error").is_displayed())
        self.browser.find_element(By.ID, "login-user").clear()
        self.browser.find_element(By.ID, "login-user").send_keys("admin")
        self.browser.find_element(By.ID, "login-password").clear()
        self.browser.find_element(By.ID, "login-password").send_keys("s3cret")
        self.browser.find_element(By.ID, "login-submit").click()
        self.wait.until(lambda d: not dialog.is_displayed())
        self.wait.until(lambda d: d.find_element(By.ID, "node-info").text.startswith("node 1"))
        self.run_sql("CREATE TABLE t (x INTEGER)")
        self.run_sql("INSERT INTO t VALUES (42)")
        self.run_sql("SELECT x FROM t")
        self.assertEqual(self.grid()[2], [["42"]])
        self.assertEqual(node.get("/db/query?q=SELECT%20x%20FROM%20t").status, 401)  # the API still needs them

    def test_behind_https(self):
        import subprocess
        certs = tempfile.mkdtemp(prefix="rqe2e-certs-")
        self.addCleanup(shutil.rmtree, certs, True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
                        "-out", "cert.pem", "-subj", "/CN=127.0.0.1", "-days", "2",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       cwd=certs, check=True, capture_output=True)
        node = self.node("1", ["-http-cert", os.path.join(certs, "cert.pem"),
                               "-http-key", os.path.join(certs, "key.pem")])
        node.start(wait_leader=False)
        url = "https://%s/console/" % node.http_addr

        def leader_shown():
            self.browser.get(url)
            WebDriverWait(self.browser, 3).until(
                lambda d: d.find_element(By.ID, "node-info").text.startswith("node 1 (Leader)"))
            return True
        harness.wait_for(leader_shown, timeout=30, what="the console over HTTPS naming the leader",
                         retry_on=harness.RETRYABLE + (Exception,))
        self.run_sql("CREATE TABLE t (x TEXT)")
        self.run_sql("INSERT INTO t VALUES ('over tls')")
        self.run_sql("SELECT x FROM t")
        self.assertEqual(self.grid()[2], [["over tls"]])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rqlited", required=True)
    parser.add_argument("--screenshot", help="save a screenshot of the query page here")
    ARGS, rest = parser.parse_known_args()
    harness.run_tests([sys.argv[0]] + rest)
