"""A supervisor: starts the nodes, notices when one dies, and starts it again.

Step 23 of the workshop. It runs step 01's node.py on each port as a child process and
looks at every child twice a second (poll()): one that has exited is restarted on the same
port. Type `crash 8102` to kill one; `quit`, Ctrl-C or SIGTERM stop every node.

    python workshop_materials/23_resilient_system/supervisor.py --ports 8101,8102,8103
"""
import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

NODE = Path(__file__).resolve().parent.parent / "01_nodes" / "node.py"
CHECK_EVERY = 0.5  # seconds between two looks at the children
BAD_SETTINGS = 2  # a node's exit code for a bad flag or a port in use: starting it again cannot help


def say(text):
    """One timestamped line, written at once: print's separate newline would let threads interleave."""
    print(f"{time.strftime('%H:%M:%S')}  {text}\n", end="", flush=True)


class Supervisor:
    """One child process per port, started again whenever it exits."""

    def __init__(self, ports, workers, delay):
        self.ports, self.node_args = ports, ["--workers", str(workers), "--delay", str(delay)]
        self.children, self.restarts = {}, dict.fromkeys(ports, 0)
        self.lock = threading.Lock()  # the command reader and the watch loop share the children

    def start(self, port):
        # The nodes' request lines would drown ours: drop their stdout, keep stderr for their errors.
        child = subprocess.Popen([sys.executable, "-u", str(NODE), "--port", str(port), *self.node_args],
                                 stdout=subprocess.DEVNULL)
        self.children[port] = child
        say(f"started   node {port}  pid {child.pid}")

    def watch(self):
        """Restart every child that has exited; give up on one that refuses to start at all."""
        with self.lock:
            for port, child in list(self.children.items()):
                code = child.poll()
                if code is None:
                    continue
                if code == BAD_SETTINGS:
                    say(f"node {port} will not start (exit code 2: its error is above); not restarting it")
                    del self.children[port]
                    continue
                say(f"died      node {port}  pid {child.pid}, exit code {code}: restarting it")
                self.restarts[port] += 1
                self.start(port)

    def crash(self, port):
        """Kill a node without warning, as a power cut would: the next watch() restarts it."""
        with self.lock:
            if port not in self.children:
                say(f"no node on port {port}; nodes: {', '.join(map(str, self.children))}")
                return
            self.children[port].kill()
            say(f"crashed   node {port}  pid {self.children[port].pid}")

    def status(self):
        with self.lock:
            for port in self.ports:
                child = self.children.get(port)
                state = f"pid {child.pid:<7} running" if child and child.poll() is None else "not running"
                say(f"node {port}  {state}  restarted {self.restarts[port]} times")

    def stop_all(self):
        """terminate() every child, then kill() any still there after a few seconds."""
        with self.lock:
            for child in self.children.values():
                child.terminate()
            for child in self.children.values():
                try:
                    child.wait(3)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            if self.children:
                say(f"stopped every node: {', '.join(map(str, self.children))}")
            self.children.clear()


def read_commands(supervisor, quitting):
    """Commands typed in this terminal, read in their own thread so watching never waits for typing."""
    for line in sys.stdin:  # ends when stdin closes (started in the background): then no commands
        words = line.split()
        if words == ["quit"]:
            quitting.set()
            return
        if words == ["status"]:
            supervisor.status()
        elif len(words) == 2 and words[0] == "crash" and words[1].isdigit():
            supervisor.crash(int(words[1]))
        elif words:
            print("commands: status, crash PORT, quit", flush=True)


def parse_ports(text):
    """'8101,8102' -> [8101, 8102]."""
    try:
        return [int(port) for port in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of ports: {text}")


def main():
    parser = argparse.ArgumentParser(
        description="Start step 01 nodes and restart any that dies.",
        epilog="example: python workshop_materials/23_resilient_system/supervisor.py --ports 8101,8102,8103",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ports", type=parse_ports, default=[8101, 8102, 8103],
                        help="one node per port (default 8101,8102,8103)")
    parser.add_argument("--workers", type=int, default=2, help="workers per node (default 2)")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds of work per request (default 0.1)")
    args = parser.parse_args()
    if args.workers < 1 or args.delay < 0 or len(set(args.ports)) != len(args.ports):
        parser.error("--workers must be at least 1, --delay not negative, and --ports without repeats")

    def leave(signum, frame):
        raise SystemExit(0)  # so the `finally:` below stops the children on SIGTERM too
    signal.signal(signal.SIGTERM, leave)
    if hasattr(signal, "SIGHUP"):  # a closed terminal, where the system has that signal
        signal.signal(signal.SIGHUP, leave)

    supervisor, quitting = Supervisor(args.ports, args.workers, args.delay), threading.Event()
    try:
        for port in args.ports:
            supervisor.start(port)
        print("commands: status, crash PORT, quit", flush=True)
        threading.Thread(target=read_commands, args=(supervisor, quitting), daemon=True).start()
        while not quitting.wait(CHECK_EVERY):
            supervisor.watch()
            if not supervisor.children:
                parser.exit(2, "no node left to supervise\n")
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
