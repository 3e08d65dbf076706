"""The scripted run of lab 3: the whole store, a follower's and the leader's crash and repair, the rate
limiter, /graduate.

Starts the coordinator (which starts registry, leader, followers and gateway), types commands
at its prompt, sends a few requests of its own to the gateway, then quits: every process stops.

    python labs/distributed-kvstore/demo.py
"""
import http.client
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `import labs...`
from labs.plumbing import exercises, processes  # noqa: E402
from labs.plumbing.colour import paint  # noqa: E402
from labs.plumbing.jsonhttp import send  # noqa: E402

COORDINATOR, GATEWAY = "127.0.0.1:9100", "127.0.0.1:8080"


def say(text):
    print(f"\n{paint(text, 'bold')}", flush=True)


def node(name):
    """The row of the coordinator's node table for name, or {} while there is none."""
    status, body = send(COORDINATOR, "GET", "/status")
    return next((row for row in body.get("nodes", []) if row["name"] == name and row["up"]), {}) if status == 200 else {}


def wait_for(name, coordinator, deadline=30):
    """Poll the coordinator until name is up; stop the demo if the coordinator ended or time ran out."""
    end = time.monotonic() + deadline
    while not node(name):
        if coordinator.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"{name} did not come up (see the coordinator's message above)")
        time.sleep(0.05)


def main():
    if not exercises.require("failure-detector"):  # the students' edition: every step needs it
        raise SystemExit(1)
    say("1. One command starts the store: registry, leader, 3 followers, gateway")
    coordinator = subprocess.Popen([sys.executable, "-u", str(Path(__file__).with_name("coordinator.py")),
                                    "--followers", "3", "--write-quorum", "2", "--read-quorum", "1",
                                    "--rate-limit", "fixed-window", "--limit", "5", "--window", "1"],
                                   stdin=subprocess.PIPE, text=True)

    def type_in(*commands, pause=0.5):
        for command in commands:
            coordinator.stdin.write(command + "\n")
            coordinator.stdin.flush()
            time.sleep(pause)

    try:
        wait_for("gateway", coordinator)
        time.sleep(0.5)  # the coordinator prints its table once everything is up
        say("2. Writes go through the gateway to the leader, then percolate; reads take turns")
        type_in("put colour blue", "put shape circle", "put size 42", pause=1.2)
        type_in("get colour", "get shape")
        say("   A read right after a write may meet a follower without it: asked on")
        type_in("put colour green", pause=0.8)
        type_in("get colour", "get colour", "get colour", pause=0.1)
        time.sleep(1)
        say("4. kill follower2 (kill -9): silence, suspect, dead; the coordinator replaces it")
        type_in("kill follower2")
        wait_for("follower4", coordinator)
        type_in("status", pause=1)
        say("5. The replacement caught up: ask it directly (port 9105)")
        for key in ("colour", "shape", "size"):
            status, reply = send("127.0.0.1:9105", "GET", f"/kv/{key}")
            print(f"   GET :9105/kv/{key} -> {status} {json.dumps(reply.get('value'))} v{reply.get('version')}",
                  flush=True)
        say("6. kill leader: the most complete follower leads epoch 2; a new one refills")
        type_in("kill leader")
        wait_for("follower5", coordinator)
        type_in("put colour red", "get colour", "status", pause=1)
        say("7. The gateway's rate limiter: 8 requests at once, 5 allowed a second")
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: send(GATEWAY, "GET", "/kv/colour", headers={"X-Client-Id": "eager"}),
                                    range(8)))
        for status, reply in sorted(answers, key=lambda answer: answer[0]):
            print(f"   {paint(str(status), 'green' if status == 200 else 'red')}  {reply.get('error', reply.get('value'))}",
                  flush=True)
        say("8. GET /graduate on the gateway")
        connection = http.client.HTTPConnection(*GATEWAY.split(":"), timeout=5)  # text, not JSON: not send()
        connection.request("GET", "/graduate")
        print(connection.getresponse().read().decode(), flush=True)
        connection.close()
        type_in("quit", pause=0)
        coordinator.wait(15)
    finally:
        processes.stop(coordinator)


if __name__ == "__main__":
    processes.run_script(main)
