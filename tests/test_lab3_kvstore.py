"""Lab 3, the distributed kvstore, through real processes: gateway, registry, membership view,
internal routes closed to outsiders, kill, replacement, catch-up, supervision."""
import importlib.util
import re
import signal
import subprocess
import sys
import threading
import unittest

from tests.helpers import (ROOT, closed, free_block, free_port, holds_for, http, logs_folder, needs, output, run, start,
                           wait_healthy, wait_printed, wait_until)

LAB = "labs/distributed-kvstore"
FAST = ["--delay", 0, "--replication-delay", 0.05, "--heartbeat-interval", 0.2, "--dead-after", 1.2]


def load_catch_up():
    """catchup.catch_up, loaded from its file (lab 3's modules sit beside their scripts, not in a package)."""
    spec = importlib.util.spec_from_file_location("catchup", ROOT / LAB / "catchup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.catch_up


class Store:
    """One whole kvstore started by its coordinator, with its prompt on stdin; stopped when the test ends."""

    def __init__(self, test, *args, followers=3):
        self.port, self.gateway_port, self.registry_port = free_port(), free_port(), free_port()
        self.base = free_block(followers + 4)
        self.logs = logs_folder(test)
        self.process = start(test, f"{LAB}/coordinator.py", "--followers", followers, "--port", self.port,
                             "--gateway-port", self.gateway_port, "--registry-port", self.registry_port,
                             "--base-port", self.base, "--logs", self.logs, *FAST, *args, stdin=subprocess.PIPE)
        self.gateway = f"http://127.0.0.1:{self.gateway_port}"
        wait_until(lambda: self.started(), 30, "the whole store to start")

    def started(self):
        """True once the gateway is up; a coordinator that gave up fails the test with its own words."""
        if self.process.poll() is not None:
            raise AssertionError(f"the coordinator ended: {output(self.process)[-600:]}")
        return self.node("gateway").get("up")

    def status(self):
        status, body, _ = http("GET", f"http://127.0.0.1:{self.port}/status")
        return body if status == 200 else {"nodes": [], "events": []}

    def node(self, name):
        return next((node for node in self.status()["nodes"] if node["name"] == name), {})

    def event(self, kind, pattern):
        """The first event of that kind whose text matches pattern, else None."""
        return next((e for e in self.status()["events"] if e["kind"] == kind and re.search(pattern, e["text"])), None)

    def command(self, line):
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def put(self, key, value, client="test"):
        return http("PUT", f"{self.gateway}/kv/{key}", {"value": value}, {"X-Client-Id": client})

    def get(self, key, client="test"):
        return http("GET", f"{self.gateway}/kv/{key}", headers={"X-Client-Id": client})


@needs("freshness", "fixed-window")
class GatewayTest(unittest.TestCase):
    def test_reads_are_spread_over_the_followers_by_the_strategy(self):
        store = Store(self, "--write-quorum", 3)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        served_by = [store.get("colour")[1]["node"] for _ in range(6)]
        followers = [f"127.0.0.1:{store.base + i}" for i in (1, 2, 3)]
        self.assertEqual(served_by, followers * 2)  # round robin, in turn

    def test_rate_limit_at_the_gateway_is_lab_1s_429_with_its_headers(self):
        store = Store(self, "--rate-limit", "fixed-window", "--limit", 3, "--window", 30)
        answers = [store.get("anything", client="greedy") for _ in range(4)]
        self.assertEqual([status for status, _, _ in answers], [404, 404, 404, 429])
        headers = answers[-1][2]
        self.assertIn("Retry-After", headers)
        self.assertEqual(headers["RateLimit-Policy"], '"fixed-window";q=3;w=30')
        self.assertEqual(store.get("anything", client="polite")[0], 404)  # another client has its own window

    def test_lab_1s_client_through_the_gateway_is_one_client_and_ends_with_the_chart(self):
        store = Store(self, "--rate-limit", "fixed-window", "--limit", 3, "--window", 30, followers=1)
        result = run(f"{LAB}/client.py", "--gateway", store.gateway_port, "--requests", 6, "--concurrency", 2)
        self.assertEqual(result.returncode, 0, result.stderr[-600:])
        self.assertEqual(len(re.findall(r" 429 ", result.stdout)), 3, result.stdout)
        self.assertIn("requests per node", result.stdout)
        self.assertNotIn(":8001", result.stdout)  # the chart's rows: the gateway and the nodes that answered
        self.assertRegex(result.stdout, rf"127.0.0.1:{store.gateway_port} +0 ok\n +x+ 3 rejected")
        self.assertRegex((store.logs / "gateway.log").read_text(), r"ACCEPT client-\d+ -> leader v1")

    def test_the_coordinators_own_requests_are_not_limited_by_an_id_a_client_can_send(self):
        store = Store(self, "--rate-limit", "fixed-window", "--limit", 1, "--window", 30, followers=1)
        self.assertEqual([store.get("colour", client="coordinator")[0] for _ in range(2)], [404, 429])
        anonymous = [http("GET", f"{store.gateway}/kv/colour")[0] for _ in range(2)]  # counted by address
        self.assertEqual(anonymous, [404, 429])
        store.command("put colour blue")  # the coordinator's prompt, through the gateway
        wait_until(lambda: store.event("write", "colour.*blue"), 5, "the prompt's write")
        self.assertEqual(store.get("colour", client="someone else")[1]["value"], "blue")

    def test_graduate_is_byte_for_byte_the_capstone_message(self):
        store = Store(self, followers=1)
        status, body, headers = http("GET", f"{store.gateway}/graduate")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(body, (ROOT / LAB / "graduate.txt").read_bytes())
        capstone = ROOT / "workshop_materials/23_resilient_system/graduate.txt"
        if capstone.exists():  # the workshop folder will be deleted one day; until then they must agree
            self.assertEqual(body, capstone.read_bytes())

    def test_the_gateway_answers_404_to_the_replicas_routes_and_they_change_nothing(self):
        store = Store(self, "--write-quorum", 2, followers=2)
        status, reply, _ = store.put("colour", "blue")
        self.assertEqual((status, reply["version"]), (201, 1))
        gateway_before = http("GET", f"{store.gateway}/health")[1]
        replica_routes = [
            ("PUT", "/replicate", {"entries": [{"version": 2, "key": "colour", "value": "evil"},
                                               {"version": 3, "key": "ghost", "value": "boo"}], "version": 3}),
            ("PUT", "/snapshot", {"entries": [{"version": 9, "key": "ghost", "value": "boo"}], "version": 9}),
            ("GET", "/snapshot", None), ("GET", "/log?since=0", None),
            ("PUT", "/followers", {"followers": []})]
        for method, path, body in replica_routes:
            with self.subTest(method=method, path=path):
                status, reply, headers = http(method, store.gateway + path, body)
                self.assertEqual((status, headers["Content-Type"]), (404, "application/json"))
                self.assertIn("no such path", reply["error"])
        status, reply, _ = http("PUT", f"{store.gateway}/readers", {"followers": []})  # the coordinator's only
        self.assertEqual((status, "internal route" in reply["error"]), (403, True))
        self.assertEqual(store.get("colour")[:2], (200, {"key": "colour", "value": "blue", "version": 1,
                                                         "node": f"127.0.0.1:{store.base + 1}"}))
        self.assertEqual(store.get("ghost")[0], 404)
        gateway_after = http("GET", f"{store.gateway}/health")[1]
        self.assertEqual([(g["keys"], g["version"]) for g in (gateway_before, gateway_after)], [(0, 0), (0, 0)])
        log = (store.logs / "gateway.log").read_text()
        self.assertNotIn("followers now", log)
        self.assertNotIn("reads now go to", log)
        status, reply, _ = store.put("colour", "green")  # the leader still replicates to both followers
        self.assertEqual((status, reply["version"], len(reply["acks"])), (200, 2, 2))
        self.assertEqual({store.get("colour")[1]["node"] for _ in range(2)},
                         {f"127.0.0.1:{store.base + 1}", f"127.0.0.1:{store.base + 2}"})  # and both still serve


@needs("failure-detector")
class MembershipTest(unittest.TestCase):
    def test_the_membership_view_piped_prints_one_plain_line_per_event(self):
        store = Store(self, followers=2)
        view = start(self, f"{LAB}/membership.py", "--registry", store.registry_port, "--every", 0.2,
                     env={"NO_COLOR": None})  # piped is enough to turn colour off
        members = {"leader": ("leader", store.base), "follower1": ("follower", store.base + 1),
                   "follower2": ("follower", store.base + 2), "gateway": ("gateway", store.gateway_port)}

        def line(events, name):
            role, port = members[name]
            return re.search(rf"^\d\d:\d\d:\d\d  ({events}) +{role} +{name} +port {port}$", output(view), re.M)
        # A member is in at its first heartbeat or when the coordinator registers it, whichever comes first.
        wait_until(lambda: all(line("joined|registered", name) for name in members), 5, "a line per member")
        store.command("kill follower2")
        wait_until(lambda: line("dead", "follower2"), 5, "follower2 dead")
        wait_until(lambda: line("removed", "follower2"), 10, "follower2 removed once replaced")
        wait_printed(view, rf"(joined|registered) +follower +follower3 +port {store.base + 3}\n", 5)
        self.assertNotIn("\033", output(view))


@needs("failure-detector")
class InternalRoutesTest(unittest.TestCase):
    def test_outsiders_cannot_report_a_death_or_join_the_registry(self):
        store = Store(self, followers=2)
        registry = f"http://127.0.0.1:{store.registry_port}"
        nodes = [(node["name"], node["pid"]) for node in store.status()["nodes"]]
        news = {"event": "dead", "member": "follower1", "port": store.base + 1, "role": "follower"}
        intruder = {"name": "intruder", "port": free_port(), "pid": 1, "role": "follower"}
        for headers in (None, {"X-Run-Secret": "guess"}):
            with self.subTest(headers=headers):
                status, reply, _ = http("POST", f"http://127.0.0.1:{store.port}/membership", news, headers)
                self.assertEqual((status, "internal route" in reply["error"]), (403, True))
                for path in ("/heartbeat", "/register"):
                    self.assertEqual(http("POST", registry + path, intruder, headers)[0], 403, path)
                self.assertEqual(http("DELETE", registry + "/members/follower1", headers=headers)[0], 403)
        holds_for(lambda: [(node["name"], node["pid"]) for node in store.status()["nodes"]] == nodes, 1.0,
                  "no follower replaced")
        self.assertIsNone(store.event("replace", "follower1"))
        members = {m["name"]: m["state"] for m in http("GET", registry + "/members")[1]["members"]}
        self.assertNotIn("intruder", members)
        self.assertEqual(members["follower1"], "alive")


@needs("freshness", "failure-detector")
class SelfRepairTest(unittest.TestCase):
    def test_a_killed_follower_is_declared_dead_replaced_and_caught_up(self):
        store = Store(self, "--write-quorum", 1)
        for i in range(20):
            self.assertIn(store.put(f"before-{i}", i)[0], (200, 201))
        store.command("kill follower2")
        wait_until(lambda: store.event("dead", "follower2"), 1.2 + 3, "the registry to declare follower2 dead")
        writes_during = [store.put(f"during-{i}", i)[0] for i in range(10)]  # while the replacement starts
        wait_until(lambda: store.event("up", r"follower4 :\d+ serves reads, in place of follower2"), 10,
                   "the replacement to serve reads")
        replacement = store.node("follower4")
        self.assertEqual(store.node("follower2"), {})  # retired
        self.assertTrue(store.event("caught-up", r"follower4: snapshot \d+ keys"))
        address = f"127.0.0.1:{replacement['port']}"
        expected = {f"before-{i}" for i in range(20)} | {f"during-{i}" for i, s in enumerate(writes_during) if s}
        wait_until(lambda: expected <= set(http("GET", f"http://{address}/kv")[1]["keys"]), 5,
                   "every acknowledged write on the replacement")
        members = http("GET", f"http://127.0.0.1:{store.registry_port}/members")[1]["members"]
        self.assertEqual({m["name"]: m["state"] for m in members if m["role"] == "follower"},
                         {"follower1": "alive", "follower3": "alive", "follower4": "alive"})
        served_by = {store.get("before-1")[1]["node"] for _ in range(3)}
        self.assertIn(address, served_by)  # the replacement serves reads

    def test_under_writes_with_a_follower_killed_no_acked_write_is_lost_and_no_read_is_stale(self):
        store = Store(self, "--write-quorum", 1, "--read-quorum", 1)
        acked, stale, lock = {}, [], threading.Lock()

        def writer(key):
            for value in range(1, 41):
                if store.put(key, value)[0] in (200, 201):
                    with lock:
                        acked[key] = value
                    status, reply, _ = store.get(key)  # a read right after the ack must see it
                    if status != 200 or reply["value"] < value:
                        stale.append((key, value, status, reply))

        writers = [threading.Thread(target=writer, args=(f"counter-{i}",)) for i in range(3)]
        for thread in writers:
            thread.start()
        wait_until(lambda: len(acked) == 3 and min(acked.values()) >= 10, 20, "writes to be under way")
        store.command("kill follower1")
        for thread in writers:
            thread.join()
        self.assertEqual(stale, [])
        wait_until(lambda: store.event("up", r"follower4 :\d+ serves reads"), 10, "the replacement to serve")
        for key, value in acked.items():
            self.assertEqual(store.get(key)[1]["value"], value)
            replacement = f"http://127.0.0.1:{store.node('follower4')['port']}/kv/{key}"
            wait_until(lambda: http("GET", replacement)[1].get("value") == value, 5, f"{key} on the replacement")

    def test_a_killed_gateway_is_restarted_on_its_port_and_knows_the_acknowledged_versions(self):
        store = Store(self, followers=2)
        self.assertEqual(store.put("colour", "blue")[0], 201)
        first = store.node("gateway")["pid"]
        store.command("kill gateway")
        said = r"^gateway :\d+ stopped \(killed or crashed\): restarting it$"  # no exit code: Windows' reads 1
        wait_until(lambda: store.event("dead", said), 5, "the supervisor to notice")
        wait_until(lambda: store.node("gateway").get("pid") not in (None, first), 10, "a new gateway process")
        wait_healthy(store.gateway_port)
        self.assertEqual(store.get("colour")[1]["value"], "blue")
        self.assertEqual(store.put("colour", "green")[1]["version"], 2)


class ProcessesTest(unittest.TestCase):
    def ports(self, store):
        return [node["port"] for node in store.status()["nodes"]] + [store.port]

    def assert_all_stopped(self, store, ports):
        store.process.wait(15)
        for port in ports:
            self.assertEqual(http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0], 0, f"port {port}")

    def test_quit_stops_every_process_and_each_wrote_its_log_in_the_logs_folder(self):
        store = Store(self, followers=2)
        ports = self.ports(store)
        self.assertEqual(len(ports), 6)  # leader, 2 followers, gateway, registry, coordinator
        store.command("quit")
        self.assert_all_stopped(store, ports)
        self.assertIn("stopped the 3 node processes", output(store.process))
        self.assertEqual(sorted(path.name for path in store.logs.iterdir()),
                         ["follower1.log", "follower2.log", "gateway.log", "leader.log", "registry.log"])
        self.assertIn("gateway ready on", (store.logs / "gateway.log").read_text())

    @unittest.skipIf(sys.platform == "win32", "Windows has no SIGTERM to catch: terminate() kills at once")
    def test_sigterm_stops_every_process(self):
        store = Store(self, followers=2)
        ports = self.ports(store)
        store.process.send_signal(signal.SIGTERM)
        self.assert_all_stopped(store, ports)

    @unittest.skipIf(sys.platform == "win32", "the lifeline works on Windows too, but kill() is tested on POSIX")
    def test_a_coordinator_killed_with_sigkill_leaves_no_child_behind(self):
        store = Store(self, followers=2)
        ports = self.ports(store)[:-1]  # leader, followers, gateway, registry
        self.assertEqual(len(ports), 5)
        store.process.kill()
        wait_until(lambda: closed(ports), 5, "every child's port to close")

    def test_impossible_settings_are_one_clear_line_and_exit_code_2(self):
        logs = logs_folder(self)
        cases = [(["--followers", 2, "--write-quorum", 3], "0 <= --write-quorum <= 2"),
                 (["--read-quorum", 0], "1 <= --read-quorum"),
                 (["--heartbeat-interval", 1, "--dead-after", 1.5], "--dead-after > 2 heartbeat intervals")]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(f"{LAB}/coordinator.py", *args, "--logs", logs, timeout=20)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)
                self.assertNotIn("Traceback", result.stderr)


class CatchUpTest(unittest.TestCase):
    def node(self, *args):
        port = free_port()
        start(self, f"{LAB}/node.py", "--port", port, "--delay", 0, "--registry", free_port(), *args)
        wait_healthy(port)
        return f"127.0.0.1:{port}"

    def test_snapshot_then_the_writes_during_the_copy(self):
        old = self.node("--role", "follower")
        leader = self.node("--role", "leader", "--replicate-to", old, "--replication-delay", 0)
        for i in range(50):
            http("PUT", f"http://{leader}/kv/k{i}", {"value": i})
        http("DELETE", f"http://{leader}/kv/k0")
        new = self.node("--role", "follower", "--catch-up")
        self.assertEqual(http("GET", f"http://{new}/kv")[0], 503)  # empty: it serves nothing yet
        done = load_catch_up()(leader, new, [old, new])
        self.assertEqual((done["keys"], done["snapshot_version"], done["version"]), (50, 51, 51))  # k0's delete too
        keys = http("GET", f"http://{new}/kv")[1]["keys"]
        self.assertEqual(sorted(keys), sorted(f"k{i}" for i in range(1, 50)))
        status, reply, _ = http("PUT", f"http://{leader}/kv/after", {"value": "joined"})  # W: both followers
        self.assertEqual((status, sorted(reply["acks"])), (201, sorted([old, new])))
        self.assertEqual(http("GET", f"http://{new}/kv/after")[1], {"key": "after", "value": "joined",
                                                                    "version": 52, "node": new})

    def test_every_write_acknowledged_during_the_catch_up_reaches_the_new_follower(self):
        old = self.node("--role", "follower")
        leader = self.node("--role", "leader", "--replicate-to", old, "--replication-delay", 0)
        new = self.node("--role", "follower", "--catch-up")
        acked, writing = [], threading.Event()

        def writer():
            for i in range(300):
                if http("PUT", f"http://{leader}/kv/k{i}", {"value": i})[0] == 201:
                    acked.append(f"k{i}")
                if i == 20:
                    writing.set()

        thread = threading.Thread(target=writer)
        thread.start()
        writing.wait(10)
        done = load_catch_up()(leader, new, [old, new])
        thread.join()
        self.assertLess(done["keys"], len(acked))  # writes really went on during and after the copy
        wait_until(lambda: set(acked) <= set(http("GET", f"http://{new}/kv")[1]["keys"]), 5,
                   "every acknowledged write on the new follower")


if __name__ == "__main__":
    unittest.main()
