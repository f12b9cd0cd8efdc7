"""Slurm's power-saving requests as the head's root agent receives them
(issue 16): slurm_power.sh, run by slurmctld as SlurmUser for ResumeProgram,
SuspendProgram and ResumeFailProgram, leaves one request file per call in
the power spool; this module prepares that spool, reads the requests in the
order Slurm made them, with their host lists expanded, and removes each
once the agent has acted on it (at least once: the agent's launches are
idempotent by ClientToken, so a crash between acting and removing repeats
nothing).

The spool is root:slurm 0730, made here and refused when anyone else made
it: a node user who could add requests could start or stop instances.
Python 3 standard library only, Python 3.6 syntax."""
import grp
import json
import os
import re
import stat
import time

import agent_ctl

SPOOL = "/var/spool/pclusterfs/power"
ACTIONS = ("resume", "suspend", "resume_fail")
NAME = re.compile(r"^([0-9]{1,12})\.([0-9]{1,10})\.(resume|suspend|resume_fail)$")
HOSTLIST = re.compile(r"^[A-Za-z0-9,._\[\]-]{1,4096}$")
NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STALE_SECONDS = 300     # a half-written request of a program that died
MAX_REQUEST_BYTES = 65536


class SpoolError(Exception):
    pass


def prepare_spool(path=SPOOL, group="slurm"):
    """Makes the spool root:<group> 0730 (parents root-only 0755 as made);
    raises SpoolError when it exists owned by another user or is not a
    directory, since then someone else may have placed requests in it."""
    gid = grp.getgrnam(group).gr_gid
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
        os.chmod(parent, 0o755)   # the agent's umask (077) must not lock SlurmUser out
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
        raise SpoolError("%s is not a directory of root's: power requests refused" % path)
    if st.st_gid != gid:
        os.chown(path, 0, gid)
    if stat.S_IMODE(st.st_mode) != 0o730:
        os.chmod(path, 0o730)


def expand(hostlist, run=agent_ctl.run_scontrol):
    """Node names of a Slurm host list ("q-dy-r-[1-3],x"), by scontrol."""
    if not HOSTLIST.match(hostlist):
        raise SpoolError("not a host list: %r" % hostlist[:80])
    ok, out = run([agent_ctl.find_scontrol(), "show", "hostnames", hostlist])
    names = out.split()
    if not ok or not names or not all(NODE.match(n) for n in names):
        raise SpoolError("scontrol show hostnames %s: %s" % (hostlist, out or "no names"))
    return names


class Request(object):
    def __init__(self, name, action, hostlist, nodes, jobs, error=None):
        self.name, self.action, self.hostlist = name, action, hostlist
        self.nodes, self.jobs, self.error = nodes, jobs, error

    def __repr__(self):
        return "Request(%s %s %s%s)" % (self.name, self.action, self.hostlist,
                                        " error=" + self.error if self.error else "")


def _read_small(path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpoolError("not a regular file")
        data = os.read(fd, MAX_REQUEST_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_REQUEST_BYTES:
        raise SpoolError("larger than %d bytes" % MAX_REQUEST_BYTES)
    return data.decode("utf-8", "replace")


def pending(path=SPOOL, run=agent_ctl.run_scontrol, clock=time.time):
    """The requests waiting, oldest first. One that cannot be understood
    comes back with .error set (the agent tells it and calls done) rather
    than being dropped in silence; half-written files of a program that
    died are removed once STALE_SECONDS old."""
    out = []
    for entry in sorted(os.listdir(path), key=lambda n: (n.split(".")[0].zfill(12), n)):
        full = os.path.join(path, entry)
        if entry.startswith(".new."):
            try:
                if clock() - os.lstat(full).st_mtime > STALE_SECONDS:
                    os.unlink(full)
            except OSError:
                pass
            continue
        if entry.endswith(".json"):
            continue
        m = NAME.match(entry)
        if not m:
            out.append(Request(entry, None, "", [], None, "not a request's name"))
            continue
        try:
            lines = _read_small(full).split("\n")
            if len(lines) < 2 or lines[0] != m.group(3):
                raise SpoolError("its first line is not %s" % m.group(3))
            nodes = expand(lines[1], run)
            jobs = None
            if m.group(3) == "resume" and os.path.exists(full + ".json"):
                try:
                    jobs = json.loads(_read_small(full + ".json"))
                except (ValueError, SpoolError, OSError):
                    jobs = None  # the jobs' detail is a help, never needed
            out.append(Request(entry, m.group(3), lines[1], nodes, jobs))
        except (OSError, SpoolError) as e:
            out.append(Request(entry, m.group(3), "", [], None, str(e)))
    return out


def done(request, path=SPOOL):
    """Removes a request the agent has acted on (or told as bad)."""
    for name in (request.name, request.name + ".json"):
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
