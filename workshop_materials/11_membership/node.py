"""A node that keeps telling the registry it is alive: step 01's node plus a heartbeat.

Step 11 of the workshop. Every --interval seconds the node POSTs /heartbeat with its name,
port and pid to the registry. Stop it (Ctrl-C, or kill -9) and the registry only notices
the silence. Start it again with the same name and it rejoins.

    python workshop_materials/11_membership/node.py --port 9501
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

# Step 01's folder goes first on the path, so `node` below is step 01's node.py, not this file.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "01_nodes"))
from client import parse_nodes, send  # noqa: E402  (found through the line above)
from node import Node  # noqa: E402


def send_heartbeats(registry, name, port, interval):
    """Forever: tell the registry we are alive. Say so only when it starts or stops hearing us."""
    heartbeat = {"name": name, "port": port, "pid": os.getpid()}
    heard = None
    while True:
        status, reply = send(registry, "POST", "/heartbeat", heartbeat)
        if (status == 200) != heard:
            heard = status == 200
            news = "hears our heartbeats" if heard else f"does not answer: {reply.get('error', status)}"
            print(f"{time.strftime('%H:%M:%S')}  registry {registry} {news}", flush=True)
        time.sleep(interval)


def main():
    parser = argparse.ArgumentParser(
        description="A key-value node that sends heartbeats to a membership registry.",
        epilog="example: python workshop_materials/11_membership/node.py --port 9501",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9501, help="port to listen on (default 9501)")
    parser.add_argument("--name", help="member name in the registry (default node-<port>)")
    parser.add_argument("--registry", type=parse_nodes, default=["127.0.0.1:9500"],
                        help="registry host:port or bare port (default 127.0.0.1:9500)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between heartbeats (default 1)")
    args = parser.parse_args()
    if args.interval <= 0 or len(args.registry) != 1:
        parser.error("--interval must be above 0 and --registry one host:port")
    try:
        node = Node(args.host, args.port, workers=2, delay=0.1)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    name = args.name or f"node-{node.server_port}"
    threading.Thread(target=send_heartbeats, args=(args.registry[0], name, node.server_port, args.interval),
                     daemon=True).start()
    print(f"node {name} ready on {node.name} (pid {os.getpid()}), "
          f"a heartbeat every {args.interval} s to {args.registry[0]}", flush=True)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        print(f"node {name} stopped", flush=True)


if __name__ == "__main__":
    main()
