"""The kvstore's prompt: lab 2's commands, plus `kill NODE`, a crash without goodbye.

Lab 3. `kill` works on the leader, a follower, the gateway or the registry; a replaced follower's
old name says what took its place.
"""
from labs.plumbing import exercises
from labs.replication.prompt import Prompt


class KVStorePrompt(Prompt):
    PROMPT = "kvstore> "
    intro = "commands: put KEY VALUE, get KEY, kill NODE, down NODE, up NODE, status,\n" \
            "          quorum W R, wait SECONDS, help, quit"

    def preloop(self):
        """Above the prompt, once more: each exercise the store runs on that is not written yet, one line each."""
        super().preloop()
        for name in exercises.missing(self.coordinator.exercises()):
            print(exercises.needs(name), flush=True)

    def service(self, arg):
        """The gateway or the registry, by name or port; None if it is neither."""
        store = self.coordinator
        return next((m for m in (store.gateway, store.registry) if arg.strip() in (m.name, str(m.port))), None)

    def node(self, arg):
        """Lab 2's lookup, which also says what became of a replaced follower, and of gateway and registry."""
        name = arg.strip()
        if name in self.coordinator.replaced:
            return print(f"{name} was declared dead and replaced by {self.coordinator.replaced[name]}", flush=True)
        if self.service(name):
            return print(f"{name} starts and stops with the store; `kill {name}` crashes it: it is restarted",
                         flush=True)
        return super().node(arg)

    def do_kill(self, arg):
        """kill NODE: crash that process (kill -9): no goodbye; the registry notices the silence."""
        if not arg.strip():
            return print("usage: kill NODE, like kill follower2 (also: kill gateway, kill registry)", flush=True)
        node = self.service(arg) or self.node(arg)
        if node and node.up:
            node.process.kill()
            self.coordinator.event("killed", f"{node} (pid {node.process.pid}) crashed: kill -9")
            if not exercises.written("failure-detector"):  # the students' edition: nobody will notice
                print(f"no death is noticed until the failure detector is written:\n"
                      f"{exercises.needs('failure-detector')}", flush=True)
        elif node:
            print(f"{node} is not running", flush=True)
