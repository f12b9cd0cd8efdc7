"""The head's events as the agent writes them (scripts/embed/agent_events.py):
lines the workstation's parser (fs/model/head_event.c) takes, kept across
restarts, the newest KEEP only, one PUT a flush after a change and none
otherwise, and a refused PUT tried again at the next flush."""
import os
import re

import pytest

from agent_modules import load

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|warning|error) \S.*$")


class FakeS3(object):
    def __init__(self):
        self.puts, self.fail = [], False

    def put(self, key, body, content_type="application/octet-stream"):
        if self.fail:
            raise OSError("refused")
        self.puts.append((key, body.decode("utf-8"), content_type))


def test_events_written_kept_and_flushed_once(tmp_path):
    ev_mod = load("agent_events")
    s3, clock = FakeS3(), [1764694200.0]
    ev = ev_mod.HeadEvents(s3, "lab3", str(tmp_path / "state"), keep=3, clock=lambda: clock[0])
    assert ev.flush() is False and s3.puts == []          # nothing yet: no request
    ev.add("info", "launched compute-dy-t2micro-1 (i-1)")
    ev.add("error", "compute-dy-t2micro-2 failed:\n\x1b[2Jboom")
    assert ev.flush() is True
    key, body, ctype = s3.puts[-1]
    assert key == "clusters/lab3/head/events" and ctype.startswith("text/plain")
    lines = body.splitlines()
    assert len(lines) == 2 and all(LINE.match(x) for x in lines), lines
    assert lines[1].endswith("compute-dy-t2micro-2 failed:  [2Jboom")   # one line, no ESC
    assert ev.flush() is False and len(s3.puts) == 1       # unchanged: no second PUT
    st = os.stat(tmp_path / "state" / "head-events")
    assert st.st_mode & 0o777 == 0o600
    for i in range(3):
        ev.add("info", "stopped node %d" % i)
    s3.fail = True
    with pytest.raises(OSError):
        ev.flush()
    s3.fail = False
    again = ev_mod.HeadEvents(s3, "lab3", str(tmp_path / "state"), keep=3)   # a restart
    assert again.flush() is True
    assert [x.split(" ", 2)[2] for x in s3.puts[-1][1].splitlines()] == [
        "stopped node 0", "stopped node 1", "stopped node 2"]
    with pytest.raises(ValueError):
        again.add("debug", "x")
    again.add("info", "   \n  ")                           # nothing to say: nothing kept
    assert again.flush() is False
