"""The head node's agent (scripts/embed/agent*) as the tests load it: every
module's source, and the modules imported without writing bytecode (a
__pycache__ in scripts/embed would be taken for a file to embed)."""
import importlib
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EMBED = os.path.join(REPO, "scripts", "embed")


def sources():
    """{file name: source} of every agent module."""
    return {n: open(os.path.join(EMBED, n), encoding="utf-8").read()
            for n in sorted(os.listdir(EMBED)) if n.startswith("agent") and n.endswith(".py")}


def load(name):
    sys.dont_write_bytecode = True
    if EMBED not in sys.path:
        sys.path.insert(0, EMBED)
    return importlib.import_module(name)
