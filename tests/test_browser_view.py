"""The picture in a browser: lab 1's front and the coordinators of labs 2 and 3 serve their page (GET /)
and the JSON it draws (GET /status); a write shows up in it, and in lab 3 the registry's members and a
partition's cut. Where a headless Chromium or Chrome is installed, the page is loaded for real and its DOM
must show the nodes, the write's key and the cut; elsewhere those tests are skipped."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from tests.helpers import (free_block, free_port, http, logs_folder, needs, output, start, start_node, wait_healthy,
                           wait_printed, wait_until)

NODE = "labs/scalability/node.py"
LAB2 = "labs/replication/coordinator.py"
LAB3 = "labs/distributed-kvstore/coordinator.py"
HTML = "text/html; charset=utf-8"
BROWSERS = ["chromium", "chromium-browser", "google-chrome", "chrome", "msedge",  # on the PATH, or where they install:
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            *(os.path.join(os.environ.get(folder, "-"), "Google", "Chrome", "Application", "chrome.exe")
              for folder in ("ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"))]
BROWSER = next(filter(None, map(shutil.which, BROWSERS)), None)  # a Chromium that runs headless, else None
NO_BROWSER = ("no headless Chromium or Chrome on this machine; to run this test install one "
              "(Debian/Ubuntu: sudo apt-get install chromium), then run python -m tests again")


def page(test, url):
    """GET url/: the page, as a browser gets it."""
    status, body, headers = http("GET", url + "/")
    test.assertEqual((status, headers["Content-Type"]), (200, HTML))
    test.assertTrue(body.startswith(b"<!DOCTYPE html>"), body[:80])
    test.assertTrue(b'"/status"' in body, "the page polls the JSON of the process that served it")
    outside = re.findall(r"""(?:src|href)=["']?(?:https?:)?//[^"' >]*|@import""", body.decode())
    test.assertEqual(outside, [], "nothing fetched from the internet: the page works offline")
    return body


def dump_dom(test, url):
    """The DOM of url after 3 s of the page's own time (its polls and redraws) in a headless browser, without
    the script (whose source holds the words it draws)."""
    profile = tempfile.mkdtemp(prefix="labs-browser-")
    test.addCleanup(shutil.rmtree, profile, ignore_errors=True)
    browser = subprocess.Popen([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                "--virtual-time-budget=3000", "--dump-dom", url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=os.name != "nt")
    try:
        dom, errors = browser.communicate(timeout=90)
    finally:  # the browser's own helper processes go with it, even when the test fails
        if browser.poll() is None and os.name != "nt":
            os.killpg(browser.pid, signal.SIGKILL)
        browser.kill()
        browser.wait()
    test.assertIn("</html>", dom, errors[-1000:])
    return re.sub(r"<script>.*?</script>", "", dom, flags=re.S)


@needs("fixed-window")
class FrontViewTest(unittest.TestCase):
    """Lab 1: node.py --load-balance serves a bar chart of what each backend got."""

    def setUp(self):
        self.backend = start_node(self, NODE, "--delay", 0, "--rate-limit", "fixed-window", "--limit", 1,
                                  "--window", 30)[0]
        self.port, self.front = start_node(self, NODE, "--load-balance", "round-robin", "--backends", self.backend)
        self.url = f"http://127.0.0.1:{self.port}"
        for expected in (201, 429):  # the backend allows this client one request per 30 s
            self.assertEqual(http("PUT", self.url + "/kv/colour", {"value": "blue"}, {"X-Client-Id": "t"})[0],
                             expected)

    def test_the_front_serves_its_page_and_counts_each_backends_answers_and_429s(self):
        page(self, self.url)
        status, body, headers = http("GET", self.url + "/status")
        self.assertEqual((status, headers["Content-Type"], body["strategy"]), (200, "application/json", "round-robin"))
        row = body["backends"][0]
        self.assertEqual((row["node"], row["served"], row["rejected"], row["no_answer"], row["in_flight"]),
                         (f"127.0.0.1:{self.backend}", 1, 1, 0, 0))
        self.assertIsInstance(row["latency_ms"], int)
        wait_printed(self.front, r"GET +/ +200", 5)  # the page's load is logged, its polls are not:
        self.assertNotIn("/status", output(self.front))  # they would drown the lines the room reads
        self.assertEqual(http("GET", f"http://127.0.0.1:{self.backend}/")[0], 404)  # a node that is no front

    @unittest.skipUnless(BROWSER, NO_BROWSER)
    def test_in_a_headless_browser_the_chart_shows_the_backend_and_its_429(self):
        dom = dump_dom(self, self.url + "/")
        self.assertIn(f":{self.backend}", dom)
        self.assertIn("round-robin: each backend in turn", dom)
        self.assertRegex(dom, r'<b class="bad">1</b> × 429')


class CoordinatorViewTest(unittest.TestCase):
    """Lab 2: the coordinator serves the cluster's picture; each write and its acks are events it draws."""

    def setUp(self):
        port = free_block(4)
        self.process = start(self, LAB2, "--port", port, "--base-port", port + 1, "--followers", 2, "--delay", 0,
                             "--replication-delay", 0.05, "--logs", logs_folder(self), stdin=subprocess.PIPE)
        wait_healthy(port, 20)
        self.url = f"http://127.0.0.1:{port}"
        wait_until(lambda: len(self.status()["nodes"]) == 3 and all(n["up"] for n in self.status()["nodes"]), 20,
                   "the leader and both followers")

    def status(self):
        return http("GET", self.url + "/status")[1]

    def test_the_page_is_served_and_a_write_and_its_acks_appear_with_their_key(self):
        page(self, self.url)
        self.assertEqual([n["name"] for n in self.status()["nodes"]], ["leader", "follower1", "follower2"])
        self.assertEqual(http("PUT", self.url + "/kv/colour", {"value": "blue"})[0], 201)
        write = wait_until(lambda: next((e for e in self.status()["events"] if e["kind"] == "write"), None), 15,
                           "the write's event")
        self.assertEqual((write["key"], write["version"]), ("colour", 1))
        acks = wait_until(lambda: {e["follower"] for e in self.status()["events"] if e["kind"] == "ack"
                                   and e.get("key") == "colour"} == {"follower1", "follower2"}, 15, "both acks")
        self.assertTrue(acks)

    @unittest.skipUnless(BROWSER, NO_BROWSER)
    def test_in_a_headless_browser_the_page_shows_the_nodes_and_the_write(self):
        self.assertEqual(http("PUT", self.url + "/kv/colour", {"value": "blue"})[0], 201)
        wait_until(lambda: all(n.get("version") == 1 for n in self.status()["nodes"]), 15, "v1 everywhere")
        dom = dump_dom(self, self.url + "/")
        for name in ("leader", "follower1", "follower2"):
            self.assertIn(f'id="node-{name}"', dom)
        self.assertIn('colour="blue" v1', dom)  # in the writes panel, acked by both
        self.assertIn("✓ acked", dom)
        self.assertIn("R + W = 1 + 2 = 3 &gt; N = 2", dom)


@needs("failure-detector")
class KVStoreViewTest(unittest.TestCase):
    """Lab 3: lab 2's page, with the gateway, the registry and the heartbeats, and a partition: the registry's
    members and the cut come inside the coordinator's /status."""

    def setUp(self):
        self.port = free_port()
        self.process = start(self, LAB3, "--followers", 2, "--port", self.port, "--gateway-port", free_port(),
                             "--registry-port", free_port(), "--base-port", free_block(6), "--logs", logs_folder(self),
                             "--delay", 0, "--replication-delay", 0.05, "--heartbeat-interval", 0.2,
                             "--dead-after", 3, stdin=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_printed(self.process, "commands:")  # the whole store started

    def status(self):
        return http("GET", self.url + "/status")[1]

    def command(self, line):
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def test_the_status_holds_the_registry_s_members_and_the_cut_and_there_is_no_members_route(self):
        page(self, self.url)
        status = self.status()
        roles = {n["name"]: n["role"] for n in status["nodes"]}
        self.assertEqual(roles, {"leader": "leader", "follower1": "follower", "follower2": "follower",
                                 "gateway": "gateway", "registry": "registry"})
        self.assertEqual(status["cut"], [])
        alive = dict.fromkeys(["leader", "follower1", "follower2", "gateway"], "alive")
        members = wait_until(lambda: {m["name"]: m["state"] for m in self.status()["members"].get("members", [])}
                             == alive and self.status()["members"], 10, "every member alive, as the registry says")
        self.assertEqual((members["suspect_after"], members["dead_after"]), (1.5, 3))
        self.command("partition follower2")
        wait_until(lambda: self.status()["cut"] == ["follower2"], 10, "the cut in /status")
        self.assertEqual({n["name"]: n["cut"] for n in self.status()["nodes"] if "cut" in n},
                         {"leader": False, "follower1": False, "follower2": True})
        self.command("heal")
        wait_until(lambda: self.status()["cut"] == [], 10, "no cut in /status once healed")
        self.assertEqual(http("GET", self.url + "/members")[0], 404)  # the registry's view comes inside /status

    @unittest.skipUnless(BROWSER, NO_BROWSER)
    def test_in_a_headless_browser_the_page_shows_heartbeats_the_write_and_the_partition(self):
        self.command("put shape circle")  # the prompt writes through the gateway (no /kv here)
        wait_printed(self.process, 'shape="circle" v1')
        self.command("partition follower2")
        wait_until(lambda: self.status()["cut"] == ["follower2"], 10, "the cut in /status")
        dom = dump_dom(self, self.url + "/")
        for name in ("gateway", "registry", "leader", "follower1", "follower2"):
            self.assertIn(f'id="node-{name}"', dom)
        self.assertIn("Lab 3 · kvstore", dom)
        self.assertIn('shape="circle" v1', dom)
        self.assertIn("♥ alive", dom)  # the registry's members, from /status
        self.assertIn("silent 3 s: dead", dom)
        self.assertIn("✂ partition: follower2 | all the others", dom)  # the cut, from /status
        self.assertIn("✂ cut off", dom)


if __name__ == "__main__":
    unittest.main()
