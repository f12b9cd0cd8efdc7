"""hooks/pre and hooks/post through a real mount: scripts are stored on
close, listed, read back and removed; editor scratch stays in memory; the
limits of DESIGN.md section 1 hold with their errno."""
import errno
import json
import os
import subprocess

import pytest

from fixture_mount import wait_for


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def stored_hooks(cluster):
    return json.loads((cluster / "status.json").read_text())["hooks"]


def last_error(cluster):
    return json.loads((cluster / "status.json").read_text())["last_error"] or ""


def test_cp_ls_cat_rm(cluster, tmp_path):
    script = tmp_path / "10-setup.sh"
    script.write_text("#!/bin/bash\necho setup\n")
    assert sh(f"cp {script} {cluster}/hooks/pre/").returncode == 0
    assert os.listdir(cluster / "hooks" / "pre") == ["10-setup.sh"]
    assert (cluster / "hooks" / "pre" / "10-setup.sh").read_text() == script.read_text()
    assert stored_hooks(cluster) == {"pre": ["10-setup.sh"], "post": []}
    assert "hooks/pre/10-setup.sh stored" in (cluster / "events").read_text()
    st = os.stat(cluster / "hooks" / "pre" / "10-setup.sh")
    assert st.st_mode & 0o111  # scripts are executable
    os.unlink(cluster / "hooks" / "pre" / "10-setup.sh")
    assert os.listdir(cluster / "hooks" / "pre") == []
    assert stored_hooks(cluster) == {"pre": [], "post": []}


def test_echo_into_a_new_hook_stores_it(cluster):
    r = sh(f"echo 'print(1)' > {cluster}/hooks/post/20.py")
    assert r.returncode == 0, r.stderr
    assert (cluster / "hooks" / "post" / "20.py").read_text() == "print(1)\n"
    # The shell closes a dup of the new file before writing, and every close
    # of a hook commits: the last event has the whole script.
    stored = [l for l in (cluster / "events").read_text().splitlines()
              if "hooks/post/20.py stored" in l]
    assert stored and "(9 bytes)" in stored[-1]
    # The dup's early close commits nothing: one commit, of the whole script
    # (issue 11.6), for a new hook and for one replaced with `>`.
    assert len(stored) == 1, stored
    r = sh(f"echo 'print(2)' > {cluster}/hooks/post/20.py")
    assert r.returncode == 0, r.stderr
    stored = [l for l in (cluster / "events").read_text().splitlines()
              if "hooks/post/20.py stored" in l]
    assert len(stored) == 2 and "(9 bytes)" in stored[-1], stored
    # `: >` truncates and writes nothing: the final close (release, which
    # the kernel sends after close() returns) stores it empty.
    assert sh(f": > {cluster}/hooks/post/20.py").returncode == 0
    assert wait_for(lambda: (cluster / "hooks" / "post" / "20.py").read_text() == "", timeout=5)


def test_touch_makes_an_empty_hook(cluster):
    assert sh(f"touch {cluster}/hooks/post/empty").returncode == 0
    assert stored_hooks(cluster)["post"] == ["empty"]


def test_editor_scratch_is_never_installed(cluster):
    pre = cluster / "hooks" / "pre"
    for name in (".10.sh.swp", "10.sh~", "sedAbC123"):
        (pre / name).write_text("scratch")
    assert sorted(os.listdir(pre)) == sorted([".10.sh.swp", "10.sh~", "sedAbC123"])
    assert stored_hooks(cluster)["pre"] == []
    os.rename(pre / ".10.sh.swp", pre / "10.sh")
    assert stored_hooks(cluster)["pre"] == ["10.sh"]
    assert (pre / "10.sh").read_text() == "scratch"


def test_sed_in_place_on_a_hook(cluster):
    hook = cluster / "hooks" / "pre" / "a.sh"
    hook.write_text("echo old\n")
    assert sh(f"sed -i s/old/new/ {hook}").returncode == 0
    assert hook.read_text() == "echo new\n"
    assert os.listdir(hook.parent) == ["a.sh"]


def test_mv_between_stages(cluster):
    (cluster / "hooks" / "pre" / "x.sh").write_text("echo x\n")
    os.rename(cluster / "hooks" / "pre" / "x.sh", cluster / "hooks" / "post" / "x.sh")
    assert stored_hooks(cluster) == {"pre": [], "post": ["x.sh"]}


def test_names_with_shell_metacharacters_are_plain_names(cluster):
    # A file name cannot hold "/", so the command it would run writes to
    # the current directory; the test runs it where a stray file would show.
    name = "$(touch pwned-pcfs);'\"`touch pwned2`"
    (cluster / "hooks" / "pre" / name).write_text("echo hi\n")
    assert os.listdir(cluster / "hooks" / "pre") == [name]
    assert (cluster / "hooks" / "pre" / name).read_text() == "echo hi\n"
    assert "pwned" not in " ".join(os.listdir(cluster))


def test_bad_hook_names(cluster):
    pre = cluster / "hooks" / "pre"
    with pytest.raises(OSError) as e:
        open(pre / "a\nb", "w").close()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        open(os.fsencode(pre) + b"/\xff\xfe", "w").close()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        open(pre / ("x" * 256), "w").close()
    assert e.value.errno == errno.ENAMETOOLONG
    (pre / ("y" * 255)).write_text("ok")
    assert stored_hooks(cluster)["pre"] == ["y" * 255]


def test_hook_over_1mib_is_efbig_and_not_stored(cluster):
    with pytest.raises(OSError) as e:
        (cluster / "hooks" / "pre" / "big.sh").write_bytes(b"#" * (1024 * 1024 + 1))
    assert e.value.errno == errno.EFBIG
    assert stored_hooks(cluster)["pre"] == []
    assert os.listdir(cluster / "hooks" / "pre") == []
    assert "hooks/pre/big.sh: writing past 1048576 bytes" in last_error(cluster)


def test_a_refused_rewrite_with_redirection_keeps_the_stored_hook(cluster, tmp_path):
    """Issue 11.6: `cat big > hook` is refused and the stored hook is never
    replaced by the empty file the shell's O_TRUNC made."""
    keep = cluster / "hooks" / "post" / "keep.sh"
    keep.write_text("echo keep\n")
    big = tmp_path / "big"
    big.write_bytes(b"#" * (1024 * 1024 + 4096))
    events_before = (cluster / "events").read_text()
    r = sh(f"cat {big} > {keep}")
    assert r.returncode != 0
    assert keep.read_text() == "echo keep\n"
    assert stored_hooks(cluster)["post"] == ["keep.sh"]
    new_events = (cluster / "events").read_text()[len(events_before):]
    assert "keep.sh stored" not in new_events, new_events
    assert "hooks/post/keep.sh: writing past 1048576 bytes" in new_events


def test_the_101st_hook_is_enospc(cluster):
    pre = cluster / "hooks" / "pre"
    for i in range(100):
        (pre / f"{i:03d}.sh").write_text("true\n")
    with pytest.raises(OSError) as e:
        (pre / "100.sh").write_text("true\n")
    assert e.value.errno == errno.ENOSPC
    assert len(os.listdir(pre)) == 100
    assert last_error(cluster).startswith("hooks/pre already holds 100 scripts, the limit")
    (pre / ".scratch~").write_text("scratch is not a hook")  # still allowed
    os.unlink(pre / "000.sh")
    (pre / "100.sh").write_text("true\n")
    assert len(stored_hooks(cluster)["pre"]) == 100
