"""The kvstore's prompt (lab 3, not a lesson): lab 2's put, get, status, quorum, wait and quit, plus
kill (the gateway and the registry too), partition and heal. A replaced follower's old name says what
took its place.
"""
from labs.replication.display import table
from labs.replication.prompt import Prompt


class KVStorePrompt(Prompt):
    PROMPT = "kvstore> "
    intro = "commands: put KEY VALUE, get KEY, kill NODE, partition NODE..., heal, status,\n" \
            "          quorum W R, wait SECONDS, help, quit"

    def node(self, arg):
        """Lab 2's lookup, the gateway and the registry too; a replaced follower says what replaced it."""
        store, name = self.coordinator, arg.strip()
        if name in store.successors:
            return print(f"{name} was declared dead and replaced by {store.successors[name]}", flush=True)
        return next((m for m in (store.gateway, store.registry) if name in (m.name, str(m.port))), None) \
            or super().node(arg)

    def do_kill(self, arg):
        """kill NODE: crash that process (kill -9): the registry hears only silence"""
        node = self.node(arg)
        if node and node.up:
            node.process.kill()
            self.coordinator.cluster.event("killed", f"{node} (pid {node.process.pid}) crashed: kill -9")
        elif node:
            print(f"{node} is not running", flush=True)

    def do_partition(self, arg):
        """partition NODE...: cut them off from all the others, both ways (alone: the cut)"""
        store, names = self.coordinator, arg.split()
        if not names:
            return print(f"the cut: {', '.join(store.cut)} | all the others" if store.cut else "no partition",
                         flush=True)
        nodes = [self.node(name) for name in names]
        if None in nodes:
            return
        if len(set(nodes)) == len(store.cluster.nodes) or not set(nodes) <= set(store.cluster.nodes):
            return print("name some of the nodes, not all (no gateway or registry): like partition leader", flush=True)
        store.partition([node.name for node in nodes])

    def do_heal(self, arg):
        """heal: the partition is gone; every process reaches every other again."""
        self.coordinator.heal()

    def do_up(self, arg):
        """up NODE: lab 2's; here the store brings up what it needs itself."""
        print("the store starts what it needs itself: a dead node is replaced", flush=True)

    def do_status(self, arg):
        """status: the node table, and the partition if there is one."""
        status = self.coordinator.status()
        cut = [f"partition: {', '.join(status['cut'])} | all the others"] if status["cut"] else []
        print("\n".join(cut + table(status)), flush=True)
