"""The scripted run of lab 3: the whole store, a follower's and the leader's crash and repair, a
partition, the rate limiter, /graduate.

Starts the coordinator (which starts registry, leader, followers and gateway), types commands at its
prompt, sends a few requests of its own to the gateway, then quits: every process stops.

    python labs/distributed-kvstore/demo.py
"""
import argparse
import http.client
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# the repository root, for `import labs...`
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from labs.plumbing import exercises, flags, processes
from labs.plumbing.colour import paint
from labs.plumbing.network import send

HERE = Path(__file__).resolve().parent


def say(text):
    print(f"\n{paint(text, 'bold')}", flush=True)


def main():
    parser = argparse.ArgumentParser(description="The scripted run of lab 3, about 45 s.",
                                     epilog="example: python labs/distributed-kvstore/demo.py")
    flags.add(parser, "port", "gateway-port", "registry-port", "base-port", port=9100, base_port=9101)
    args = parser.parse_args()
    unwritten = exercises.missing(["fixed-window", "freshness", "failure-detector"])
    if unwritten:
        raise SystemExit("\n".join(exercises.needs(name) for name in unwritten))
    coordinator, gateway = f"127.0.0.1:{args.port}", f"127.0.0.1:{args.gateway_port}"
    say("1. One command starts the store: registry, leader, 3 followers, gateway")
    ports = [f"--{name}={getattr(args, name.replace('-', '_'))}" for name in
             ("port", "gateway-port", "registry-port", "base-port")]
    # its prompt reads our pipe: when we end, it reads the end, quits, and stops every process it started
    store = subprocess.Popen([sys.executable, "-u", str(HERE / "coordinator.py"), "--write-quorum", "2",
                              "--rate-limit", "fixed-window", "--limit", "5", "--window", "1", *ports],
                             stdin=subprocess.PIPE, text=True)

    def type_in(*commands, pause=0.5):
        for command in commands:
            store.stdin.write(command + "\n")
            store.stdin.flush()
            time.sleep(pause)

    def wait_for(name, why, deadline=30):
        """Until the coordinator lists name as up; else stop the demo, saying where to look."""
        end = time.monotonic() + deadline
        while not any(row["name"] == name and row["up"] for row in send(coordinator, "GET", "/status")[1].get(
                "nodes", [])):
            if store.poll() is not None or time.monotonic() > end:
                raise SystemExit(f"{name} did not come up: {why}")
            time.sleep(0.05)

    try:
        wait_for("gateway", "see the coordinator's message above")
        time.sleep(0.5)
        say("2. Writes go through the gateway to the leader, then percolate; reads take turns")
        type_in("put colour blue", "put shape circle", "put size 42", pause=1.2)
        type_in("get colour", "get shape", "get size")
        say("3. kill follower2 (kill -9): silence, suspect, dead; the coordinator replaces it")
        type_in("kill follower2")
        wait_for("follower4", "was its death noticed? labs/distributed-kvstore/logs/registry.log says")
        type_in("status", pause=1)
        say("4. kill leader: the most complete follower leads epoch 2; a new follower fills its place")
        type_in("kill leader")
        wait_for("follower5", "see the coordinator's lines above")
        type_in("put colour red", "get colour", "status", pause=1)
        leader = send(coordinator, "GET", "/status")[1]["nodes"][0]["name"]
        say(f"5. partition {leader}: the leader alone; with W = 2 it cannot write, the others elect")
        type_in(f"partition {leader}", pause=5)
        type_in("put colour green", pause=1.5)
        type_in("heal", pause=2)
        type_in("status", pause=1)
        say("6. The gateway's rate limiter: 8 requests at once, 5 allowed a second")
        # just after a window begins: windows count on this clock
        time.sleep(1.02 - time.monotonic() % 1)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: send(gateway, "GET", "/kv/colour", headers={"X-Client-Id": "eager"}),
                                    range(8)))
        for status, reply in sorted(answers, key=lambda answer: answer[0]):
            print(f"   {paint(str(status), 'green' if status == 200 else 'red')}  "
                  f"{reply.get('error', reply.get('value'))}", flush=True)
        say("7. GET /graduate on the gateway")
        connection = http.client.HTTPConnection(*gateway.split(":"), timeout=5)
        connection.request("GET", "/graduate")
        print(connection.getresponse().read().decode(), flush=True)
        connection.close()
        type_in("quit", pause=0)
        store.wait(15)
    finally:
        processes.stop(store)


if __name__ == "__main__":
    processes.run_script(main)
