"""Who did what: one JSON line per signed request in <dir>/audit.jsonl
(time, access key, principal, role, instance, service, action, decision and,
when denied, which check failed and why). `localcloud audit` prints it."""
import json
import os
import threading
import time


class Audit:
    def __init__(self, d):
        self.path = os.path.join(d, "audit.jsonl")
        self.lock = threading.Lock()
        self.file = open(self.path, "a", buffering=1)   # a line is on disk when written

    def record(self, **entry):
        entry = dict(entry, time=round(time.time(), 3))
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.lock:
            self.file.write(line)


def read(d):
    try:
        with open(os.path.join(d, "audit.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
