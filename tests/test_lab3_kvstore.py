"""Lab 3, the distributed kvstore, through real processes: the gateway (lab 1's limiter and strategy, lab 2's
front door), the registry and its membership view, internal routes closed to outsiders, self-repair (a dead
follower replaced and caught up, a gateway restarted), the processes a coordinator starts and stops, catch-up."""
import importlib.util
import re
import signal
import sys
import threading
import unittest

from tests.helpers import (ROOT, closed, free_block, free_port, holds_for, http, listen_on, logs_folder, needs,
                           output, run, start, wait_healthy, wait_until)
from tests.kvstore import LAB, Store


def load_catch_up():
    """catchup.catch_up, loaded from its file (lab 3's modules sit beside their scripts, not in a package)."""
    spec = importlib.util.spec_from_file_location("catchup", ROOT / LAB / "catchup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.catch_up


@needs("freshness")
class GatewayTest(unittest.TestCase):
    def test_reads_are_spread_over_the_followers_by_the_strategy(self):
        store = Store(self)  # W = N = 3: every follower holds the write once it is acknowledged
        self.assertEqual(store.put("colour", "blue")[0], 201)
        served_by = [store.get("colour")[1]["node"] for _ in range(6)]
        followers = [f"127.0.0.1:{store.base + i}" for i in (1, 2, 3)]
        self.assertEqual(sorted(served_by[:3]), followers)  # round robin: each in turn, then again
        self.assertEqual(served_by[3:], served_by[:3])
        for port in (store.base + 1, store.base + 2, store.base + 3):  # the gateway's log says where each went
            store.logged("gateway", rf"GET +/kv/colour +200 .* -> :{port}\b")
        store.logged("gateway", r"PUT +/kv/colour +201 .* -> leader v1")

    @needs("fixed-window")
    def test_a_rate_limit_at_the_gateway_is_lab_1s_429_with_its_headers_and_exempts_nobody(self):
        store = Store(self, "--rate-limit", "fixed-window", "--limit", 2, "--window", 30, followers=1)
        answers = [store.get("anything", client="greedy") for _ in range(3)]
        self.assertEqual([status for status, _, _ in answers], [404, 404, 429])
        status, reply, headers = answers[-1]
        self.assertRegex(reply["error"], r"^limit 2 per 30 s: retry in \d+ s$")
        self.assertEqual(reply["node"], f"127.0.0.1:{store.gateway_port}")  # the gateway said it, not a replica
        self.assertRegex(headers["Retry-After"], r"^\d+$")
        self.assertEqual(headers["RateLimit-Policy"], '"fixed-window";q=2;w=30')
        self.assertRegex(headers["RateLimit"], r'^"fixed-window";r=0;t=\d+$')
        self.assertEqual(store.get("anything", client="polite")[0], 404)  # another client has its own window
        store.logged("gateway", r"GET +/kv/anything +429 .* REJECT greedy")
        # a client without an id is counted by its address: the coordinator's prompt is one such client
        self.assertEqual([http("GET", f"{store.gateway}/kv/anything")[0] for _ in range(2)], [404, 404])
        store.command("put colour blue")
        wait_until(lambda: store.event("refused", r"^write colour: limit 2 per 30 s: retry in \d+ s$"), 5,
                   "the prompt's write refused by the limit, as anyone's")

    @needs("fixed-window")
    def test_lab_1s_client_through_the_gateway_ends_with_the_chart_whose_front_row_counts_only_its_429s(self):
        store = Store(self, "--rate-limit", "fixed-window", "--limit", 3, "--window", 30, followers=1)
        result = run("labs/scalability/client.py", "--nodes", store.gateway_port, "--requests", 6,
                     "--concurrency", 2)
        self.assertEqual(result.returncode, 0, result.stderr[-600:])
        self.assertEqual(len(re.findall(rf"^ +\d+  127\.0\.0\.1:{store.gateway_port} +429 ", result.stdout, re.M)), 3,
                         result.stdout)  # one client id: 3 through, 3 refused by the gateway itself
        self.assertEqual(len(re.findall(rf"^ +\d+  127\.0\.0\.1:{store.base} +20[01] ", result.stdout, re.M)), 3,
                         result.stdout)  # the writes' answers name the leader
        chart = result.stdout.split("requests per node")[1]
        self.assertRegex(chart, rf"\n127\.0\.0\.1:{store.base} +#+ +3 ok\n")
        self.assertRegex(chart, rf"\n127\.0\.0\.1:{store.gateway_port} front +x+ +3 rejected\n")
        self.assertNotRegex(chart, rf"{store.gateway_port} front +#* +\d+ ok")  # it served nothing itself
        self.assertNotIn(":8001", chart)  # only the nodes that answered have a row
        store.logged("gateway", r"PUT +/kv/key-\d +201 .* ACCEPT client-\d+")

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
            ("PUT", "/replicate", {"entries": [{"version": 2, "epoch": 1, "key": "colour", "value": "evil"}],
                                   "after": [1, 1], "version": 2, "epoch": 1}),
            ("PUT", "/snapshot", {"entries": [{"version": 9, "key": "ghost", "value": "boo"}], "version": 9,
                                  "last_epoch": 1, "epoch": 1}),
            ("GET", "/snapshot", None),
            ("POST", "/vote", {"epoch": 7}),
            ("POST", "/lead", {"epoch": 7, "followers": []}),
            ("PUT", "/followers", {"followers": []})]
        for method, path, body in replica_routes:
            for who, headers in (("an outsider", None), ("the run's own processes", store.insider())):
                with self.subTest(method=method, path=path, who=who):
                    status, reply, answer_headers = http(method, store.gateway + path, body, headers)
                    self.assertEqual((status, answer_headers["Content-Type"]), (404, "application/json"))
                    self.assertEqual(reply["error"], f"no {path} here: the store's API is /kv, /kv/<key>, /graduate")
        routes = {"leader": "127.0.0.1:1", "followers": [], "write_quorum": 0, "read_quorum": 1}
        status, reply, _ = http("PUT", f"{store.gateway}/routes", routes)  # the coordinator's only
        self.assertEqual((status, reply["error"]), (403, "internal route: only the processes of this run may call it"))
        gateway_after = http("GET", f"{store.gateway}/health")[1]
        self.assertEqual([(g["keys"], g["version"], g["epoch"]) for g in (gateway_before, gateway_after)],
                         [(0, 0, 1)] * 2)  # the gateway's own node holds nothing and voted for nothing
        self.assertNotRegex((store.logs / "gateway.log").read_text(), r"writes to :1\b")
        self.assertEqual(store.get("colour")[:2], (200, {"key": "colour", "value": "blue", "version": 1,
                                                         "node": f"127.0.0.1:{store.base + 1}"}))
        self.assertEqual(store.get("ghost")[0], 404)
        status, reply, _ = store.put("colour", "green")  # the leader still replicates to both followers
        self.assertEqual((status, reply["version"], reply["epoch"], len(reply["acks"])), (200, 2, 1, 2))
        self.assertEqual({store.get("colour")[1]["node"] for _ in range(2)},
                         {f"127.0.0.1:{store.base + 1}", f"127.0.0.1:{store.base + 2}"})  # and both still serve


@needs("failure-detector")
class MembershipTest(unittest.TestCase):
    def test_the_membership_view_piped_prints_one_plain_line_per_event(self):
        store = Store(self, followers=2)
        view = start(self, f"{LAB}/membership.py", "--registry", store.registry_port, "--every", 0.2,
                     env={"NO_COLOR": None})  # piped is enough to turn colour off
        members = {"leader": ("leader", store.base), "follower1": ("follower", store.base + 1),
                   "follower2": ("follower", store.base + 2), "follower3": ("follower", store.base + 3),
                   "gateway": ("gateway", store.gateway_port)}

        def lines(event, name):
            role, port = members[name]
            return re.findall(rf"^\d\d:\d\d:\d\d {event} +{role} +{name} :{port}$", output(view), re.M)
        wait_until(lambda: all(lines("joined", name) for name in ("leader", "follower1", "follower2", "gateway")),
                   10, "a joined line per member")
        store.command("kill follower2")
        wait_until(lambda: lines("dead", "follower2"), 10, "follower2 dead")
        wait_until(lambda: lines("removed", "follower2"), 10, "follower2 removed once replaced")
        wait_until(lambda: lines("joined", "follower3"), 10, "its replacement joined")
        for name in ("leader", "follower1", "follower2", "follower3", "gateway"):
            self.assertEqual(len(lines("joined", name)), 1, output(view))  # each event once, however many polls
        self.assertNotIn("\033", output(view))


@needs("failure-detector")
class InternalRoutesTest(unittest.TestCase):
    def test_outsiders_cannot_register_or_send_heartbeats_and_an_unregistered_name_never_becomes_a_member(self):
        store = Store(self, followers=2)
        before = store.pids()
        intruder = {"name": "intruder", "port": free_port(), "pid": 4242, "role": "follower"}
        for headers in (None, {"X-Run-Secret": "guess"}):
            with self.subTest(headers=headers):
                for path in ("/heartbeat", "/register"):
                    status, reply, _ = http("POST", store.registry + path, intruder, headers)
                    self.assertEqual((status, reply["error"]),
                                     (403, "internal route: only the processes of this run may call it"), path)
                self.assertEqual(http("DELETE", f"{store.registry}/members/follower1", headers=headers)[0], 403)
        # with the run's secret, a heartbeat still needs a member the coordinator registered, with its pid
        impostor = {"name": "follower1", "port": store.base + 1, "pid": 4242, "role": "follower"}
        for body in (intruder, impostor):
            with self.subTest(heartbeat=body["name"]):
                status, reply, _ = http("POST", f"{store.registry}/heartbeat", body, store.insider())
                self.assertEqual(status, 404)
                self.assertIn("not a member", reply["error"])
        holds_for(lambda: store.pids() == before, 1.0, "no process replaced")
        self.assertIsNone(store.event("replace", ""))
        members = store.members()
        self.assertNotIn("intruder", members)
        self.assertEqual((members["follower1"]["state"], members["follower1"]["pid"]), ("alive", before["follower1"]))
        self.assertEqual(sorted(members), ["follower1", "follower2", "gateway", "leader"])


@needs("freshness", "failure-detector")
class SelfRepairTest(unittest.TestCase):
    def test_a_killed_follower_is_declared_dead_replaced_and_caught_up_with_every_key(self):
        store = Store(self, "--write-quorum", 2)
        for i in range(20):
            self.assertIn(store.put(f"before-{i}", i)[0], (200, 201))
        store.command("kill follower2")
        wait_until(lambda: store.event("killed", r"^follower2 :\d+ \(pid \d+\) crashed: kill -9$"), 5, "the kill")
        wait_until(lambda: store.event("dead", rf"^follower2 :{store.base + 2} \(follower\), says the registry$"),
                   1.0 + 5, "the registry to declare follower2 dead")
        writes_during = [store.put(f"during-{i}", i)[0] for i in range(10)]  # while the replacement starts
        wait_until(lambda: store.event("up", rf"^follower4 :{store.base + 4} serves reads, in place of follower2$"),
                   10, "the replacement to serve reads")
        self.assertTrue(store.event("replace", rf"^follower2 is dead: follower4 :{store.base + 4} takes its place$"))
        self.assertTrue(store.event("caught-up",
                                    r"^follower4: snapshot \d+ keys \(v\d+\) \+ \d+ writes = v\d+, \d+ ms$"))
        self.assertEqual(store.node("follower2"), {})  # retired from the map
        address = f"127.0.0.1:{store.base + 4}"
        expected = {f"before-{i}" for i in range(20)} | {f"during-{i}" for i, s in enumerate(writes_during)
                                                          if s in (200, 201)}
        self.assertLessEqual(expected, set(http("GET", f"http://{address}/kv")[1]["keys"]))
        wait_until(lambda: {m["name"]: m["state"] for m in store.members().values() if m["role"] == "follower"}
                   == {"follower1": "alive", "follower3": "alive", "follower4": "alive"}, 5,
                   "the registry: follower2 removed, follower4 alive")
        served_by = {store.get("before-1")[1]["node"] for _ in range(3)}
        self.assertIn(address, served_by)  # the replacement serves reads

    def test_under_writes_with_a_follower_killed_no_acknowledged_write_is_lost_and_no_read_is_stale(self):
        store = Store(self, "--write-quorum", 2, "--read-quorum", 1)  # R + W = N: the freshness rule must hold
        client = start(self, f"{LAB}/client.py", "--gateway", store.gateway_port, "--seconds", 6)
        wait_until(lambda: store.node("leader").get("version", 0) >= 20, 10, "writes under way")
        store.command("kill follower1")
        wait_until(lambda: store.event("up", r"^follower4 :\d+ serves reads, in place of follower1$"), 15,
                   "the replacement to serve reads")
        client.wait(30)
        self.assertEqual(client.returncode, 0, output(client))
        report = output(client)
        self.assertRegex(report, r"\n([1-9]\d*) writes acknowledged, \d+ refused")
        self.assertIn("\n     0 acknowledged writes lost", report)
        self.assertIn("\n     0 stale reads", report)
        leader, replacement = store.node("leader")["port"], store.node("follower4")["port"]
        for key in (f"check-{i}" for i in range(4)):  # the replacement holds each key's newest write
            newest = http("GET", f"http://127.0.0.1:{leader}/kv/{key}")[1]
            wait_until(lambda: http("GET", f"http://127.0.0.1:{replacement}/kv/{key}")[1].get("version")
                       == newest["version"], 5, f"{key} v{newest['version']} on the replacement")

    def test_a_killed_gateway_is_restarted_on_its_port_and_knows_the_acknowledged_versions(self):
        # follower k gets a write k seconds after it: W = 1 acknowledges it while two followers lack it
        store = Store(self, "--write-quorum", 1, "--replication-delay", 1.0)
        status, reply, _ = store.put("colour", "blue")
        self.assertEqual((status, reply["version"]), (201, 1))
        first = store.node("gateway")["pid"]
        store.command("kill gateway")
        wait_until(lambda: store.event("dead", rf"^gateway :{store.gateway_port} stopped \(killed or crashed\): "
                                               r"restarting it$"), 5, "the coordinator to notice")
        wait_until(lambda: store.node("gateway").get("pid") not in (None, first), 10, "a new gateway process")
        wait_healthy(store.gateway_port)
        # each read asks another follower first (round robin); one that lacks v1 is never reported
        reads = [store.get("colour")[:2] for _ in range(3)]
        self.assertEqual([(status, reply.get("value"), reply.get("version")) for status, reply in reads],
                         [(200, "blue", 1)] * 3)
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
        self.assertEqual(store.process.returncode, 0)
        self.assertIn("\nstopped the 5 processes\n", output(store.process))
        self.assertEqual(sorted(path.name for path in store.logs.iterdir()),
                         ["follower1.log", "follower2.log", "gateway.log", "leader.log", "registry.log"])
        self.assertIn(f"gateway ready on 127.0.0.1:{store.gateway_port} (gateway, pid",
                      (store.logs / "gateway.log").read_text())
        self.assertRegex((store.logs / "registry.log").read_text(), rf"^registry \S*:{store.registry_port} ready")

    @unittest.skipIf(sys.platform == "win32", "Windows has no SIGTERM to catch: terminate() kills at once")
    def test_sigterm_stops_every_process(self):
        store = Store(self, followers=2)
        ports = self.ports(store)
        store.process.send_signal(signal.SIGTERM)
        self.assert_all_stopped(store, ports)
        self.assertIn("stopped the 5 processes", output(store.process))

    @unittest.skipIf(sys.platform == "win32", "the lifeline works on Windows too, but kill() is tested on POSIX")
    def test_a_coordinator_killed_with_sigkill_leaves_no_child_behind(self):
        store = Store(self, followers=2)
        ports = self.ports(store)[:-1]  # leader, followers, gateway, registry
        self.assertEqual(len(ports), 5)
        store.process.kill()
        wait_until(lambda: closed(ports), 5, "every child's port to close")

    def test_impossible_settings_are_one_clear_line_and_exit_code_2(self):
        logs = logs_folder(self)
        taken = listen_on(free_port())
        self.addCleanup(taken.close)
        ports = ["--port", free_port(), "--registry-port", free_port(), "--base-port", free_block(4)]
        cases = [(["--followers", 2, "--write-quorum", 3], r"--write-quorum.*\b2\b"),
                 (["--read-quorum", 0], r"--read-quorum"),
                 (["--heartbeat-interval", 1, "--dead-after", 1.5], r"--dead-after .*2 heartbeat intervals"),
                 (["--limit", 0], r"--limit"),
                 ([*ports, "--gateway-port", ports[3]], r"two of these ports are the same"),
                 ([*ports, "--gateway-port", taken.getsockname()[1]],
                  rf"port {taken.getsockname()[1]} is in use \(is another coordinator still running\?\)")]
        for args, message in cases:
            with self.subTest(args=args):
                result = run(f"{LAB}/coordinator.py", *args, "--logs", logs, timeout=20)
                self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
                self.assertRegex(result.stderr.strip().splitlines()[-1], message)  # the last line says why
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(result.stdout, "")  # nothing started


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
            self.assertEqual(http("PUT", f"http://{leader}/kv/k{i}", {"value": i})[0], 201)
        self.assertEqual(http("DELETE", f"http://{leader}/kv/k0")[0], 200)
        new = self.node("--role", "follower", "--catch-up")
        status, reply, _ = http("GET", f"http://{new}/kv")
        self.assertEqual(status, 503)  # empty: it serves nothing yet
        self.assertIn("catching up", reply["error"])
        done = load_catch_up()(leader, new, [old, new])
        self.assertEqual((done["keys"], done["snapshot_version"], done["version"]), (50, 51, 51))  # k0's delete too
        keys = http("GET", f"http://{new}/kv")[1]["keys"]
        self.assertEqual(keys, sorted(f"k{i}" for i in range(1, 50)))
        self.assertEqual(http("GET", f"http://{new}/kv/k0")[:2], (404, {"error": "key not found: k0", "key": "k0",
                                                                        "version": 51, "node": new}))
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
        self.addCleanup(thread.join)
        writing.wait(10)
        done = load_catch_up()(leader, new, [old, new])
        thread.join()
        self.assertLess(done["keys"], len(acked))  # writes really went on during and after the copy
        wait_until(lambda: set(acked) <= set(http("GET", f"http://{new}/kv")[1]["keys"]), 5,
                   "every acknowledged write on the new follower")


if __name__ == "__main__":
    unittest.main()
