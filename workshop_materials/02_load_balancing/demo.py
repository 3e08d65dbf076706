"""A scripted run of steps 01 and 02: three unequal nodes, one client, the chart.

Starts nodes with 1, 2 and 4 workers, sends the client's requests round robin,
charts where they went, then stops the nodes. Exits by itself.

    python workshop_materials/02_load_balancing/demo.py
"""
import subprocess
import sys
import time
from pathlib import Path

STEP01 = Path(__file__).resolve().parent.parent / "01_nodes"
sys.path.insert(0, str(STEP01))
from client import send  # noqa: E402  (found through the line above)

NODES = {8001: 1, 8002: 2, 8003: 4}  # port: workers


def wait_for_port(port, deadline=10):
    """Poll /health until the node answers."""
    end = time.monotonic() + deadline
    while send(f"127.0.0.1:{port}", "GET", "/health")[0] != 200:
        if time.monotonic() > end:
            raise SystemExit(f"node on port {port} did not start")
        time.sleep(0.1)


def main():
    nodes = [subprocess.Popen([sys.executable, str(STEP01 / "node.py"), "--port", str(port), "--workers", str(workers)],
                              stdout=subprocess.DEVNULL) for port, workers in NODES.items()]
    try:
        for port in NODES:
            wait_for_port(port)
        print("three nodes: 8001 with 1 worker, 8002 with 2, 8003 with 4; 60 requests, round robin\n", flush=True)
        client = subprocess.Popen([sys.executable, str(STEP01 / "client.py"), "--requests", "60",
                                   "--nodes", ",".join(map(str, NODES))], stdout=subprocess.PIPE)
        subprocess.run([sys.executable, str(Path(__file__).parent / "visualize_load_balance.py")],
                       stdin=client.stdout, check=True)
        client.wait()
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait()


if __name__ == "__main__":
    main()
