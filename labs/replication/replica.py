"""One member of the coordinator's static map: a name, a role, a port, and its process once it runs.

Lab 2. "up" means the process answered once and has not exited since; the map prints as `follower2 :9003`.
"""


class Replica:
    """One row of the static leader/follower map: a name, a role, a port, and its process when it runs."""

    def __init__(self, name, role, port):
        self.name, self.role, self.port, self.process = name, role, port, None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def up(self):
        return self.process is not None and self.process.poll() is None

    def __str__(self):
        return f"{self.name} :{self.port}"
