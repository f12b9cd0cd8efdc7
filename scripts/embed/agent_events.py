"""The head's events (clusters/<cluster>/head/events): what the head's agent
did by itself, for the workstation to tell in the cluster's events at its
next pass, or next mount (fs/model/head_event.h reads it). One event a
line, oldest first:

    2026-12-02T16:50:00Z info launched compute-dy-t2micro-1 (i-0abc...)

Levels: info, warning, error. A message is one line (newlines and other
control characters become spaces) of at most MESSAGE_MAX characters. The
newest KEEP lines are kept in the agent's state dir (root only) and the
whole object is PUT again only at a flush after a change: at most one
request a round, none while nothing happens.
Python 3 standard library only, Python 3.6 syntax."""
import os
import time

from agent_publish import iso, private_dir, write_private

KEEP = 200
MESSAGE_MAX = 400
LEVELS = ("info", "warning", "error")


def events_key(cluster):
    """clusters/<cluster>/head/events, as fs/store/layout.c builds it."""
    return "clusters/%s/head/events" % cluster


def one_line(text):
    out = "".join(c if c >= " " and c != "\x7f" else " " for c in str(text))
    return out.strip()[:MESSAGE_MAX]


class HeadEvents(object):
    def __init__(self, s3, cluster, state_dir, keep=KEEP, clock=time.time):
        self.s3, self.cluster, self.keep, self.clock = s3, cluster, keep, clock
        self.path = os.path.join(private_dir(state_dir), "head-events")
        try:
            with open(self.path, "rb") as f:
                self.lines = f.read().decode("utf-8", "replace").splitlines()[-keep:]
        except FileNotFoundError:
            self.lines = []
        self.dirty = bool(self.lines)   # a crash may have come before the last flush

    def add(self, level, message):
        """Records one event (kept at once; sent at the next flush)."""
        if level not in LEVELS:
            raise ValueError("level %r is not one of %s" % (level, ", ".join(LEVELS)))
        text = one_line(message)
        if not text:
            return
        self.lines = (self.lines + ["%s %s %s" % (iso(self.clock()), level, text)])[-self.keep:]
        write_private(self.path, ("\n".join(self.lines) + "\n").encode("utf-8"))
        self.dirty = True

    def flush(self):
        """PUTs the events when they changed since the last flush; raises
        (and stays dirty, to try again next round) when S3 refuses."""
        if not self.dirty:
            return False
        body = ("\n".join(self.lines) + "\n").encode("utf-8")
        self.s3.put(events_key(self.cluster), body, "text/plain; charset=utf-8")
        self.dirty = False
        return True
