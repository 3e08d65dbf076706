"""The coordinator's prompt: put, get, down, up, status, quorum, wait, quit (stdlib cmd), and run().

Lab 2, not a lesson. A terminal, commands piped on stdin and a --script file alike; piped or
scripted, each command is echoed (the output reads as a transcript) and a # line printed, not run.
run() is a coordinator's whole life: its API served, its nodes started, the prompt, all stopped.
"""
import cmd
import json
import sys
import threading
import time

from labs.plumbing import boundary, processes
from labs.plumbing.colour import CLEAR_LINE, CONSOLE_CODES, paint
from labs.replication.cluster import CoordinatorServer
from labs.replication.display import quorum_line, table



class Prompt(cmd.Cmd):
    """One do_<command> method per command; `help` lists their docstrings."""

    PROMPT = "replication> "
    intro = "commands: put KEY VALUE, get KEY, down NODE, up NODE, status, quorum W R,\n" \
            "          wait SECONDS, help, quit"

    def __init__(self, coordinator, script=None):
        super().__init__(stdin=script or sys.stdin)
        self.coordinator, self.typing = coordinator, False
        self.use_rawinput = script is None and sys.stdin.isatty()
        self.prompt = self.PROMPT if self.use_rawinput else ""
        if self.use_rawinput:
            coordinator.cluster.events.show = self.show

    def show(self, line):
        """An event line, from the start of the terminal's line; one that arrives at the prompt goes above a
        fresh prompt (what was typed so far stays typed: Enter sends it)."""
        clear = CLEAR_LINE if CONSOLE_CODES else ""
        print(f"\r{line}{clear}\n" + (self.prompt if self.typing else ""), end="", flush=True)

    def preloop(self):
        self.typing = True

    def postcmd(self, stop, line):
        self.typing = not stop
        return stop

    def precmd(self, line):
        """Piped or scripted: show each command; a # line is narration, printed and not run. EOF: quit."""
        self.typing = False
        if line == "EOF":
            return "quit"
        if not self.use_rawinput and line.strip():
            print(paint(line.strip(), "bold") if line.startswith("#") else f"{self.PROMPT}{line.strip()}", flush=True)
        return "" if line.startswith("#") else line

    def emptyline(self):
        """An empty line does nothing (cmd would repeat the last command)."""

    def default(self, line):
        print(f"unknown command: {line}  (type help)", flush=True)

    def node(self, arg):
        """The node named by arg (a name like follower2 or a port like 9003), or None after saying so."""
        node = self.coordinator.cluster.find(arg.strip())
        if node is None:
            print(f"say which node: a name or a port from `status`, like follower2 or 9003", flush=True)
        return node

    def do_put(self, arg):
        """put KEY VALUE: write through the leader, done once W followers hold it"""
        key, _, text = arg.strip().partition(" ")
        if not key or not text.strip():
            return print("usage: put KEY VALUE", flush=True)
        try:
            value = json.loads(text)
        except ValueError:
            value = text.strip()
        self.coordinator.write(key, value)

    def do_get(self, arg):
        """get KEY: read from R followers; a stale answer is caught and never reported."""
        if not arg.strip():
            return print("usage: get KEY", flush=True)
        self.coordinator.read(arg.strip())

    def do_down(self, arg):
        """down NODE: stop that node's process (NODE is its name or port)."""
        node = self.node(arg)
        if node and node.up:
            self.coordinator.down(node)
        elif node:
            print(f"{node} is already down", flush=True)

    def do_up(self, arg):
        """up NODE: start that node again; it catches up on the writes it missed."""
        node = self.node(arg)
        if node and not node.up:
            try:
                self.coordinator.bring_up(node)
            except RuntimeError as error:
                print(error, flush=True)
        elif node:
            print(f"{node} is already up", flush=True)

    def do_status(self, arg):
        """status: the node table and whether R + W > N."""
        status = self.coordinator.status()
        print("\n".join([quorum_line(status), *table(status)]), flush=True)

    def do_quorum(self, arg):
        """quorum W R: change the write and read quorums (0 <= W <= N, 1 <= R <= N)."""
        n = len(self.coordinator.cluster.followers)
        try:
            write_quorum, read_quorum = map(int, arg.split())
        except ValueError:
            return print("usage: quorum W R, like quorum 1 1", flush=True)
        if not (0 <= write_quorum <= n and 1 <= read_quorum <= n):
            return print(f"W must be between 0 and {n}, R between 1 and {n}", flush=True)
        self.coordinator.set_quorums(write_quorum, read_quorum)
        print(quorum_line(self.coordinator.status()), flush=True)

    def do_wait(self, arg):
        """wait SECONDS: pause, to let background replication land (handy in scripts)."""
        try:
            time.sleep(float(arg))
        except ValueError:
            print("usage: wait SECONDS, like wait 1", flush=True)

    def do_quit(self, arg):
        """quit: stop every process and the coordinator."""
        return True


def run(parser, args, coordinator, handler, prompt, banner):
    """A coordinator's whole life: its API on --port, its nodes started, the prompt (or --script) until
    quit; then every process it started stops, however it ends. Student code runs behind the boundary."""
    boundary.guard()
    try:
        server = CoordinatorServer((args.host, args.port), handler, coordinator)
    except OSError as error:
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {error.strerror or error}\n")
    try:
        args.logs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.exit(2, f"--logs {args.logs} cannot be a folder: {error.strerror or error}\n")
    processes.stop_on_signals()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        coordinator.start()
        status = coordinator.status()
        print("\n".join([banner, quorum_line(status), *table(status)]), flush=True)
        prompt.cmdloop()
    except KeyboardInterrupt:
        print()
    except RuntimeError as error:
        print(error, flush=True)
    finally:
        coordinator.stop_all()
        server.server_close()
