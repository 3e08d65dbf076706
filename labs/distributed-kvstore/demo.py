"""The scripted run of lab 3: the whole store, a follower's and the leader's crash and repair, the rate
limiter, /graduate.

Starts the coordinator (which starts registry, leader, followers and gateway), types commands
at its prompt, sends a few requests of its own to the gateway, then quits: every process stops.

    python labs/distributed-kvstore/demo.py
"""
import argparse
import http.client
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import exercises, flags, processes  # noqa: E402
from labs.plumbing.colour import cut, paint  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402

HERE = Path(__file__).resolve().parent


def say(text):
    print(f"\n{paint(text, 'bold')}", flush=True)


def main():
    parser = argparse.ArgumentParser(description="The scripted run of lab 3, about 30 s.",
                                     epilog="example: python labs/distributed-kvstore/demo.py")
    flags.add(parser, "port", "gateway-port", "registry-port", "base-port", port=9100, base_port=9101)
    args = parser.parse_args()
    for line in exercises.missing_block(["fixed-window", "freshness", "failure-detector"]):
        print(line, flush=True)  # the students' edition: this demo runs on all three
    if exercises.missing(["fixed-window", "freshness", "failure-detector"]):
        raise SystemExit(1)
    coordinator, gateway = f"127.0.0.1:{args.port}", f"127.0.0.1:{args.gateway_port}"
    logs = HERE / "logs"  # the coordinator's: each process's output, <name>.log
    say("1. One command starts the store: registry, leader, 3 followers, gateway")
    store = subprocess.Popen([sys.executable, "-u", str(HERE / "coordinator.py"), "--followers", "3",
                              "--write-quorum", "2", "--read-quorum", "1", "--rate-limit", "fixed-window",
                              "--limit", "5", "--window", "1", *(f"--{name}={value}" for name, value in (
                                  ("port", args.port), ("gateway-port", args.gateway_port),
                                  ("registry-port", args.registry_port), ("base-port", args.base_port)))],
                             stdin=subprocess.PIPE, text=True)

    def type_in(*commands, pause=0.5):
        for command in commands:
            store.stdin.write(command + "\n")
            store.stdin.flush()
            time.sleep(pause)

    def wait_for(name, why, deadline=30):
        """Until the coordinator lists name as up; else stop the demo, saying where to look."""
        end = time.monotonic() + deadline
        while not (row := next((row for row in send(coordinator, "GET", "/status")[1].get("nodes", [])
                                if row["name"] == name and row["up"]), None)):
            if store.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"{name} did not come up: {why}")
            time.sleep(0.05)
        return row

    try:
        wait_for("gateway", "see the coordinator's message above")
        time.sleep(0.5)  # the coordinator prints its table once everything is up
        say("2. Writes go through the gateway to the leader, then percolate; reads take turns")
        type_in("put colour blue", "put shape circle", "put size 42", pause=1.2)
        type_in("get colour", "get shape")
        say("   A read right after a write may meet a follower without it: the gateway asks\n"
            "   the next one, and says so in labs/distributed-kvstore/logs/gateway.log:")
        type_in("put colour green", pause=0.8)
        type_in("get colour", "get colour", "get colour", pause=0.1)
        time.sleep(0.5)
        stale = [line for line in (logs / "gateway.log").read_text().splitlines() if "stale" in line]
        print("\n".join(cut(f"   log: {line}", 80) for line in stale[-2:]) or "   (no stale reply this time)")
        say("4. kill follower2 (kill -9): silence, suspect, dead; the coordinator replaces it")
        type_in("kill follower2")
        new = wait_for("follower4", "was a death noticed? The registry's log says what your failure detector "
                                    "computed:\n  labs/distributed-kvstore/logs/registry.log")
        type_in("status", pause=1)
        say(f"5. The replacement caught up: ask it directly (port {new['port']})")
        for key in ("colour", "shape", "size"):
            status, reply = send(f"127.0.0.1:{new['port']}", "GET", f"/kv/{key}")
            print(f"   GET :{new['port']}/kv/{key} -> {status} {json.dumps(reply.get('value'))} "
                  f"v{reply.get('version')}", flush=True)
        say("6. kill leader: the most complete follower leads epoch 2; a new one refills")
        type_in("kill leader")
        wait_for("follower5", "see the coordinator's lines above")
        type_in("put colour red", "get colour", "status", pause=1)
        say("7. The gateway's rate limiter: 8 requests at once, 5 allowed a second")
        time.sleep(1.02 - time.monotonic() % 1)  # just after a window begins: windows count on this clock
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: send(gateway, "GET", "/kv/colour", headers={"X-Client-Id": "eager"}),
                                    range(8)))
        for status, reply in sorted(answers, key=lambda answer: answer[0]):
            print(f"   {paint(str(status), 'green' if status == 200 else 'red')}  "
                  f"{reply.get('error', reply.get('value'))}", flush=True)
        say("8. GET /graduate on the gateway")
        connection = http.client.HTTPConnection(*gateway.split(":"), timeout=5)  # text, not JSON: not send()
        connection.request("GET", "/graduate")
        print(connection.getresponse().read().decode(), flush=True)
        connection.close()
        type_in("quit", pause=0)
        store.wait(15)
    finally:
        processes.stop(store)


if __name__ == "__main__":
    processes.run_script(main)
