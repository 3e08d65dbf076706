"""Lab 3 under a network partition: the processes on the cut side run on, and only the protocol fences them
(epochs, the election's quorum, W acks). Clients write and read through the gateway all along; after `heal`
the store is one again: nothing acknowledged lost, no read back in time, one leader, the replicas equal."""
import itertools
import sys
import threading
import time
import unittest

from tests.helpers import holds_for, http, needs, output, wait_until
from tests.kvstore import Store

# for every Store here: each follower gets a write as soon as the leader has it (no replication delay)
AT_ONCE = ("--replication-delay", 0)
KEYS = ["colour", "size", "shape"]
# writes an outsider sends straight to the leader cut off at W = 2: enough that the versions it gives them (and
# then refuses) run ahead of the new leader's
OUTSIDER_WRITES = 40


class History:
    """Clients of the store: writers and readers through the gateway, each call recorded with when it started
    and ended, what it was told (status, version, value) and which leader acknowledged it (node, epoch)."""

    def __init__(self, store, writers=2, readers=2):
        self.store, self.calls, self.lock, self.stopping = store, [], threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.write_forever, args=(n,), daemon=True) for n in range(writers)]
        self.threads += [threading.Thread(target=self.read_forever, args=(n,), daemon=True) for n in range(readers)]
        for thread in self.threads:
            thread.start()

    def write_forever(self, writer):
        for number in itertools.count():
            if self.stopping.is_set():
                return
            key, value = KEYS[number % len(KEYS)], f"w{writer}-{number}"
            self.put(self.store.gateway, key, value, "gateway")
            time.sleep(0.05)

    def read_forever(self, reader):
        for number in itertools.count():
            if self.stopping.is_set():
                return
            key, started = KEYS[(number + reader) % len(KEYS)], time.monotonic()
            status, reply, _ = http("GET", f"{self.store.gateway}/kv/{key}", timeout=5)
            self.record("read", key, None, started, status, reply, "gateway")
            time.sleep(0.02)

    def put(self, url, key, value, via):
        """One write (through the gateway, or straight to a node); returns (status, reply)."""
        started = time.monotonic()
        status, reply, _ = http("PUT", f"{url}/kv/{key}", {"value": value}, timeout=5)
        self.record("write", key, value, started, status, reply, via)
        return status, reply

    def record(self, kind, key, value, started, status, reply, via):
        reply = reply if isinstance(reply, dict) else {}
        with self.lock:
            self.calls.append({"kind": kind, "key": key, "value": value if kind == "write" else reply.get("value"),
                               "started": started, "ended": time.monotonic(), "status": status, "via": via,
                               "version": reply.get("version"), "node": reply.get("node"), "epoch": reply.get("epoch")})

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)

    def acknowledged(self, via=None):
        with self.lock:
            return [call for call in self.calls if call["kind"] == "write" and call["status"] in (200, 201)
                    and via in (None, call["via"])]

    def reported(self):
        """The reads the gateway answered with a version of the key (200: the value, 404: not found)."""
        with self.lock:
            return [call for call in self.calls if call["kind"] == "read" and call["status"] in (200, 404)]

    def acknowledged_after(self, moment, via="gateway"):
        return [call for call in self.acknowledged(via) if call["started"] > moment]


@needs("freshness", "failure-detector")
class PartitionTest(unittest.TestCase):
    def start_clients(self, store):
        history = History(store)
        self.addCleanup(history.stop)
        wait_until(lambda: len(history.acknowledged()) >= 6, 10, "writes acknowledged through the gateway")
        return history

    def cut_off(self, store, names):
        """`partition NAMES`; returns once the registry calls each of them dead (its silence is the cut's)."""
        store.command(f"partition {' '.join(names)}")
        store.printed(r"partition +\S.* cut off from all the others")
        wait_until(lambda: all(store.members().get(name, {}).get("state") == "dead" for name in names), 10,
                   f"the registry to call {', '.join(names)} dead")

    def assert_partition_shown(self, store, names):
        """The status, the registry and the prompt show the cut; no process of the cut side is counted twice."""
        nodes = {node["name"]: node for node in store.status()["nodes"]}
        self.assertEqual(store.status()["cut"], names)
        self.assertEqual(sorted(name for name, node in nodes.items() if node.get("cut")), sorted(names))
        self.assertTrue(all(nodes[name]["up"] for name in names), nodes)  # they run on
        members = store.members()
        self.assertEqual(sorted(members), sorted([*store.replicas(), "gateway"]))  # each once, N + 2
        self.assertEqual(sorted(name for name, member in members.items() if member["cut"]), sorted(names))
        view = store.status()["members"]["members"]  # what the coordinator shows of the registry
        self.assertEqual(sorted(member["name"] for member in view if member["cut"]), sorted(names))
        store.command("partition")
        store.printed(rf"the cut: {', '.join(names)} \| all the others")

    def assert_whole_again(self, store, history, cut_pids):
        """After heal: one leader of the newest epoch, N followers ready holding the same keys and versions,
        the processes cut off never killed, no process more than the store's, each member once in the registry;
        nothing acknowledged lost and no read back in time."""
        history.stop()
        self.wait_converged(store)
        healths = {name: store.health(name) for name in store.replicas()}
        leaders = [name for name, health in healths.items() if health["role"] == "leader"]
        self.assertEqual(len(leaders), 1, healths)
        self.assertEqual(store.status()["nodes"][0]["name"], leaders[0])  # the coordinator's map agrees
        for name, pid in cut_pids.items():
            self.assertEqual(healths[name]["pid"], pid, f"{name} runs on, the same process")
        self.assertIsNone(store.event("killed", "."))
        self.assertIsNone(store.event("replace", "."))
        members = wait_until(lambda: self.all_heard(store), 5, "the registry to hear every member again")
        self.assertEqual(sorted(members), sorted([*store.replicas(), "gateway"]))  # each once, N + 2
        self.assert_no_process_more(store)
        self.assert_nothing_lost(store, history)
        self.assert_no_read_back_in_time(history)

    def wait_converged(self, store):
        try:
            wait_until(lambda: self.converged(store), 15, "one leader and 3 followers holding the same data")
        except AssertionError as error:
            healths = {name: {field: health.get(field) for field in ("role", "epoch", "ready", "version")}
                       for name in store.replicas() for health in [store.health(name)]}
            raise AssertionError(f"{error}; the replicas say {healths}; the coordinator printed:\n"
                                 f"{output(store.process)[-1500:]}") from None

    def all_heard(self, store):
        """The registry's members, once each is alive and none across a cut; else None."""
        members = store.members()
        return members if members and all(m["state"] == "alive" and not m["cut"] for m in members.values()) else None

    def converged(self, store):
        """Exactly one leader, the others following its epoch, all ready, each holding the same keys and versions."""
        healths = [store.health(name) for name in store.replicas()]
        if not all(healths) or [h["role"] for h in healths].count("leader") != 1 or \
                not all(h["ready"] for h in healths):
            return False
        if len({(h["epoch"], h["version"]) for h in healths}) != 1:
            return False
        contents = [self.contents(store, name) for name in store.replicas()]
        return all(content == contents[0] for content in contents)

    def contents(self, store, name):
        """{key: (version, value)} of one replica, read straight from it."""
        port = store.port_of(name)
        keys = http("GET", f"http://127.0.0.1:{port}/kv")[1]["keys"]
        return {key: (reply["version"], reply.get("value"))
                for key in keys for reply in [http("GET", f"http://127.0.0.1:{port}/kv/{key}")[1]]}

    def assert_nothing_lost(self, store, history):
        """Every acknowledged write (through the gateway or straight to a leader) is read back through the
        gateway, or a newer one; at most one leader acknowledged each version."""
        acknowledged = history.acknowledged()
        self.assert_one_write_per_version(acknowledged + history.reported())
        for key in KEYS:
            newest = max((call for call in acknowledged if call["key"] == key), key=lambda call: call["version"])
            reported = max([call["version"] for call in history.reported() if call["key"] == key], default=0)
            status, reply, _ = http("GET", f"{store.gateway}/kv/{key}")
            self.assertEqual(status, 200, f"{key}: {reply}")
            self.assertGreaterEqual(reply["version"], max(newest["version"], reported), key)
            if reply["version"] == newest["version"]:
                self.assertEqual(reply["value"], newest["value"], key)

    def assert_one_write_per_version(self, calls):
        """A version is one place in the log: every write acknowledged and every value read at that version is
        the same write. Two leaders acknowledging at once, or a read of a write the store later dropped, break it."""
        writes = {}
        for call in calls:
            if call["version"]:  # 0: a key never written
                writes.setdefault(call["version"], set()).add((call["key"], call["value"]))
        self.assertEqual({version: sorted(seen) for version, seen in writes.items() if len(seen) > 1}, {},
                         "different writes named by one version")

    def assert_no_read_back_in_time(self, history):
        """No read reports a version of its key older than one acknowledged or reported before it started."""
        known = history.acknowledged("gateway") + history.reported()
        reads = history.reported()
        self.assertGreater(len(reads), 10, "the readers read")
        for read in reads:
            floor = max([call["version"] for call in known if call["key"] == read["key"]
                         and call["ended"] < read["started"]], default=0)
            self.assertGreaterEqual(read["version"], floor, f"a read back in time: {read}")

    def assert_no_process_more(self, store):
        """The coordinator's children are its N + 3 processes: no node started in the place of one cut off."""
        if sys.platform != "win32":
            self.assertEqual(store.children(), {node["pid"] for node in store.status()["nodes"]})
            self.assertEqual(len(store.children()), store.followers + 3)

    def assert_nothing_crossed(self, store, name, since, until, allowed):
        """The node's log between two sizes: the requests it answered are only those allowed (method, path
        start); it says the registry does not hear its heartbeats."""
        requests = store.requests_in_log(name, since, until)
        crossed = [request for request in requests if not any(request[0] == method and request[1].startswith(path)
                                                                for method, path in allowed)]
        self.assertEqual(crossed, [], f"{name} answered across the cut")
        self.assertRegex((store.logs / f"{name}.log").read_text(), r"registry :\d+ does not hear us")
        return requests

    def test_a_leader_cut_off_at_w_2_is_replaced_refuses_writes_and_after_heal_follows_caught_up(self):
        store = Store(self, *AT_ONCE, "--write-quorum", 2)
        history = self.start_clients(store)
        old_pid = store.health("leader")["pid"]
        self.cut_off(store, ["leader"])
        store.printed(r"partition +the leader's side cannot write: W = 2\b.*\b0\b")
        store.printed(r"partition +the other side can elect\b.*\b2 votes\b.*\b3\b")
        promoted = wait_until(lambda: store.event("promoted", r"follower\d leads epoch 2; leader is a follower now"),
                              10, "a new leader of epoch 2")
        since, heartbeats = store.log_size("leader"), store.members()["leader"]["heartbeats"]
        new = promoted["text"].split()[0]
        # the new leader acknowledges, through the gateway and asked directly
        status, reply = history.put(f"http://127.0.0.1:{store.port_of(new)}", "colour", "to the new leader", new)
        self.assertIn(status, (200, 201), reply)
        self.assertEqual(reply["epoch"], 2)
        promoted_at = time.monotonic()
        wait_until(lambda: len(history.acknowledged_after(promoted_at)) >= 5, 10, "writes through the gateway")
        self.assertEqual({(c["node"], c["epoch"]) for c in history.acknowledged_after(promoted_at)},
                         {(f"127.0.0.1:{store.port_of(new)}", 2)})
        self.assert_partition_shown(store, ["leader"])
        # an outsider keeps writing straight to the old leader: it cannot gather W acks, and says so each time
        for number in range(OUTSIDER_WRITES):
            status, reply = history.put(f"http://127.0.0.1:{store.port_of('leader')}", KEYS[number % len(KEYS)],
                                        f"outsider-{number}", "old leader")
            self.assertEqual(status, 503, reply)
            self.assertRegex(reply.get("error", ""), r"W = 2 acks needed, 0 came: .*unreachable")
            self.assertEqual(reply["acks"], {})
        wait_until(lambda: len(store.requests_in_log("leader", since, store.log_size("leader"))) >= OUTSIDER_WRITES,
                   5, "the old leader's log lines of the outsider's writes")
        until = store.log_size("leader")
        self.assertEqual(store.health("leader")["pid"], old_pid)
        self.assertEqual(store.members()["leader"]["heartbeats"], heartbeats, "a heartbeat crossed the cut")
        store.command("heal")
        store.printed(r"\d\d:\d\d:\d\d heal +\S")
        self.assertEqual(store.status()["cut"], [])
        store.command("partition")
        store.printed(r"(?m)^no partition$")
        # the old leader learns of epoch 2, steps down, and holds what the new leader holds
        wait_until(lambda: store.health("leader").get("role") == "follower" and store.health("leader")["epoch"] == 2,
                   10, "the old leader to follow epoch 2")
        with self.subTest("no read reports a write the old leader refused: it never became the store's"):
            self.assertEqual([(read["key"], read["version"], read["value"], read["node"]) for read in history.reported()
                              if str(read["value"]).startswith("outsider-")], [])
        self.assert_whole_again(store, history, {"leader": old_pid})
        self.assertEqual(store.status()["nodes"][0]["name"], new)
        requests = self.assert_nothing_crossed(store, "leader", since, until, [("PUT", "/kv/")])
        self.assertEqual(len(requests), OUTSIDER_WRITES, requests)  # the outsider's writes, and nothing else
        self.assertGreater(store.members()["leader"]["heartbeats"], heartbeats)  # they cross again

    def test_a_minority_leader_at_w_1_keeps_acknowledging_the_majority_elects_nobody_and_heal_loses_nothing(self):
        store = Store(self, *AT_ONCE, "--write-quorum", 1)
        history = self.start_clients(store)
        pids = {name: store.health(name)["pid"] for name in ("leader", "follower1")}
        self.cut_off(store, ["leader", "follower1"])
        store.printed(r"partition +the leader's side can write: W = 1\b.*\b1\b")
        store.printed(r"partition +the other side")
        with self.subTest("the prompt says why the other side cannot elect"):
            line = next(line for line in output(store.process).splitlines() if "the other side" in line)
            self.assertRegex(line, r"partition +the other side cannot\b.*\belect\b")
            self.assertRegex(line, r"\b3 votes\b.*\b2\b")
        self.assertTrue(store.event("partition", r"the other side cannot\b.*\belect\b.*\b3 votes\b.*\b2\b"))
        wait_until(lambda: store.event("refused", r"no leader: 2 of the 3 votes"), 10, "a refused election")
        sizes = {name: store.log_size(name) for name in store.replicas()}
        heartbeats = {name: store.members()[name]["heartbeats"] for name in ("leader", "follower1")}
        partitioned_at = time.monotonic()
        # an outsider's writes, straight to the minority leader: follower1 acks them, W = 1
        leader = f"http://127.0.0.1:{store.port_of('leader')}"
        for number in range(6):
            status, reply = history.put(leader, KEYS[number % 3], f"minority-{number}", "minority leader")
            self.assertIn(status, (200, 201), reply)
            self.assertEqual((reply["epoch"], list(reply["acks"])), (1, [f"127.0.0.1:{store.port_of('follower1')}"]))
        # the majority has no leader: none of its followers leads, and no write through the gateway is acknowledged
        holds_for(lambda: all(store.health(f"follower{n}").get("role") == "follower" for n in (2, 3)), 1.5,
                  "no leader on the majority's side")
        self.assertEqual(history.acknowledged_after(partitioned_at), [])
        with history.lock:
            refused = [call for call in history.calls if call["via"] == "gateway" and call["started"] > partitioned_at]
        self.assertGreater(len(refused), 5, "the clients went on trying")
        self.assert_partition_shown(store, ["leader", "follower1"])
        until = {name: store.log_size(name) for name in store.replicas()}
        self.assertEqual({name: store.members()[name]["heartbeats"] for name in heartbeats}, heartbeats,
                         "a heartbeat crossed the cut")
        self.assertEqual({name: store.health(name)["pid"] for name in pids}, pids)
        store.command("heal")
        store.printed(r"\d\d:\d\d:\d\d heal +\S")
        self.assert_whole_again(store, history, pids)
        # while cut: the minority's leader answered only the outsider, follower1 only its leader's deliveries;
        # the majority's followers got the coordinator's votes and no delivery from across
        self.assert_nothing_crossed(store, "leader", sizes["leader"], until["leader"], [("PUT", "/kv/")])
        shipped = self.assert_nothing_crossed(store, "follower1", sizes["follower1"], until["follower1"],
                                              [("PUT", "/replicate")])
        self.assertTrue(shipped, "follower1 took its leader's writes")
        for name in ("follower2", "follower3"):
            requests = store.requests_in_log(name, sizes[name], until[name])
            self.assertIn(("POST", "/vote"), requests, name)
            self.assertEqual([r for r in requests if r[1] in ("/replicate", "/snapshot")], [], name)

    def test_a_cut_that_moves_and_heals_while_nobody_writes_still_ends_with_one_leader(self):
        store = Store(self, *AT_ONCE, "--write-quorum", 1)
        status, reply, _ = http("PUT", f"{store.gateway}/kv/colour", {"value": "blue"})
        self.assertEqual(status, 201, reply)
        pids = {name: store.health(name)["pid"] for name in store.replicas()}
        self.cut_off(store, ["leader", "follower1"])
        wait_until(lambda: store.event("refused", r"no leader: 2 of the 3 votes"), 10, "a refused election")
        # the cut moves: the leader is back with the majority, whose followers voted for epoch 2 and so no longer
        # take its writes; nobody writes, so nothing tells it. The coordinator hears it again...
        store.command("partition follower1")
        wait_until(lambda: store.event("rejoined", r"^leader "), 10, "the registry to hear the leader again")
        store.command("heal")
        store.printed(r"\d\d:\d\d:\d\d heal +\S")
        # ...and must still finish the election it began: one leader, 3 followers serving, nobody killed
        self.wait_converged(store)
        self.assertEqual({name: store.health(name)["pid"] for name in store.replicas()}, pids)
        self.assertEqual(http("GET", f"{store.gateway}/kv/colour")[1].get("value"), "blue")
        status, reply, _ = http("PUT", f"{store.gateway}/kv/colour", {"value": "green"})  # the first write after
        self.assertEqual(status, 200, reply)

if __name__ == "__main__":
    unittest.main()
