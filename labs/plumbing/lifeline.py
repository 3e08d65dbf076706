"""Run a script as a child that goes when its parent goes: `python lifeline.py SCRIPT ARGS...`.

processes.start() starts every child through this file. It watches the child's stdin, a pipe from
the parent: when that pipe closes (the parent ended, however it ended: quit, Ctrl-C, kill -9), the
child exits at once. Then it runs SCRIPT as `python SCRIPT ARGS...` would: no script needs to know.
"""
import os
import runpy
import sys
import threading


def watch():
    while os.read(0, 4096):  # the raw descriptor: no lock that exiting would wait for
        pass
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=watch, daemon=True).start()
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # where `python SCRIPT` looks first
    runpy.run_path(sys.argv[0], run_name="__main__")
