"""Files of the mount can be mapped with mmap (issue 20: Ansible's wait_for,
and any tool that maps files to read them), and a new mapping shows the
current content: the kernel's page cache never serves a stale version to a
new open, even when a change keeps the file's size."""
import json
import mmap
import os

from fixture_mount import wait_for


def mapped(path):
    """The bytes of path as a read-only mapping shows them."""
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            return m[:]


def test_status_json_events_and_node_files_map_with_current_content(mount, cluster, good):
    assert mapped(cluster / "status") == b"NO_CONFIG\n"
    assert json.loads(mapped(cluster / "status.json"))["clusterStatus"] == "NO_CONFIG"
    events_before = mapped(cluster / "events")
    assert b"created" in events_before
    (cluster / "config").write_text(good)
    # The commit swapped the snapshot before close returned: a new mapping
    # shows the new state at once.
    status = mapped(cluster / "status")
    assert status != b"NO_CONFIG\n" and status == (cluster / "status").read_bytes()
    assert json.loads(mapped(cluster / "status.json"))["clusterStatus"] == status.decode().strip()
    events = mapped(cluster / "events")
    assert events.startswith(events_before) and b"config committed" in events[len(events_before):]
    assert mapped(cluster / "config") == good.encode()
    if "memory" in mount.options:
        return  # no instances without a cloud: the bucket backend maps node files
    # A node file, through a change that keeps its size (pending -> running).
    state = cluster / "nodes" / "head" / "ec2_state"
    assert wait_for(lambda: state.exists(), 30, 0.1)
    seen = {mapped(state)}
    assert wait_for(lambda: seen.add(mapped(state)) or b"running\n" in seen, 60, 0.05), seen
    assert mapped(state) == state.read_bytes() == b"running\n"


def test_a_same_size_change_is_seen_by_a_new_mapping(cluster, good):
    """status CREATE_IN_PROGRESS -> DELETE_IN_PROGRESS: same size, maybe the
    same second; the pages the first mapping filled must not be reused."""
    (cluster / "config").write_text(good)
    before = mapped(cluster / "status")
    assert before == b"CREATE_IN_PROGRESS\n", before
    with open(cluster / "status", "rb") as keep:  # an open file keeps its pages warm
        m = mmap.mmap(keep.fileno(), 0, prot=mmap.PROT_READ)
        assert m[:] == before
        os.rmdir(cluster)
        try:
            now = mapped(cluster / "status")
        except FileNotFoundError:
            now = None  # already gone: nothing stale was shown either
        assert now in (b"DELETE_IN_PROGRESS\n", None), now
        m.close()


def test_hooks_and_scratch_files_map_too(cluster):
    hook = cluster / "hooks" / "pre" / "10-a.sh"
    hook.write_text("echo one\n")
    assert mapped(hook) == b"echo one\n"
    hook.write_text("echo two\n")  # same size, a new version
    assert mapped(hook) == b"echo two\n"
    scratch = cluster / "hooks" / "pre" / ".10-a.sh.swp"
    scratch.write_text("draft\n")
    assert mapped(scratch) == b"draft\n"
    scratch.write_text("draf2\n")
    assert mapped(scratch) == b"draf2\n"


def test_writes_still_commit_on_close(cluster, good):
    """Writable opens keep their buffer and commit as before; what a read
    then maps is the committed config."""
    with open(cluster / "config", "w") as f:
        f.write(good)
    assert mapped(cluster / "config") == good.encode()
    with open(cluster / "config", "r+") as f:
        f.seek(0, os.SEEK_END)
        f.write("# a comment\n")
    assert mapped(cluster / "config") == (good + "# a comment\n").encode()


def test_an_old_descriptor_leaves_no_stale_pages_for_a_new_open(cluster):
    """A descriptor opened before a change reads after it (its version, as
    before): the pages it fills must not be what a new open then reads.
    Same size, so nothing but the open's own check can tell."""
    hook = cluster / "hooks" / "pre" / "10-a.sh"
    hook.write_text("echo one\n")
    old = os.open(hook, os.O_RDONLY)
    try:
        hook.write_text("echo two\n")
        assert os.pread(old, 100, 0) == b"echo one\n"
        assert hook.read_bytes() == b"echo two\n"
        assert mapped(hook) == b"echo two\n"
    finally:
        os.close(old)


def test_an_old_descriptor_reads_its_whole_version_across_a_size_change(cluster):
    """The CI flake this guards: status.json opened before a swap and read
    after it came back cut at the newer, shorter length (invalid JSON). The
    kernel keeps one size per file; while a descriptor is open it is the size
    of the version its reads serve, and the file's own size after close."""
    hook = cluster / "hooks" / "pre" / "10-a.sh"
    long_text, short_text = b"echo a line much longer than the next one\n", b"echo b\n"
    for before, after in ((long_text, short_text), (short_text, long_text)):
        hook.write_bytes(before)
        old = os.open(hook, os.O_RDONLY)
        try:
            hook.write_bytes(after)  # committed, the snapshot swapped
            assert os.fstat(old).st_size == len(before)
            assert os.read(old, 4096) == before
        finally:
            os.close(old)
        assert wait_for(lambda: os.stat(hook).st_size == len(after), 5, 0.05)
        assert hook.read_bytes() == after
        assert mapped(hook) == after
