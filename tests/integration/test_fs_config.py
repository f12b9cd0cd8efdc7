"""Committing config through a real mount: every way tools write a file
(cp, echo >, sed -i, write-temp-then-rename as Ansible does, truncate)
commits on close or on rename, and a bad config is refused with EINVAL,
changes nothing, and says what and where in events and status.json."""
import errno
import json
import os
import subprocess
import tempfile

import pytest

from configs import GUIDE, with_queue_size


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def last_error(cluster):
    return json.loads((cluster / "status.json").read_text())["last_error"]


def events(cluster):
    return (cluster / "events").read_text()


def test_echo_commits_on_close(cluster, good):
    r = sh(f"printf '%s' '{good}' > {cluster}/config")
    assert r.returncode == 0, r.stderr
    assert (cluster / "config").read_text() == good
    assert (cluster / "status").read_text() == "CREATE_IN_PROGRESS\n"
    assert events(cluster).count("config committed") == 1
    assert "error" not in events(cluster)


def test_cp_commits_and_a_bad_cp_fails_with_einval(cluster, tmp_path, good):
    good_file = tmp_path / "good.ini"
    good_file.write_text(good)
    assert sh(f"cp {good_file} {cluster}/config").returncode == 0
    bad = tmp_path / "bad.ini"
    bad.write_text(GUIDE)
    r = sh(f"cp {bad} {cluster}/config")
    assert r.returncode != 0
    assert "Invalid argument" in r.stderr
    assert (cluster / "config").read_text() == good  # the previous config stays
    assert last_error(cluster).startswith("config:6:")


def test_the_guide_config_names_line_6_and_the_missing_section(cluster):
    with pytest.raises(OSError) as e:
        with open(cluster / "config", "w") as f:
            f.write(GUIDE)
    assert e.value.errno == errno.EINVAL
    err = last_error(cluster)
    assert err.startswith("config:6:") and "[vpc public]" in err, err
    assert "config:6:" in events(cluster)
    assert (cluster / "status").read_text() == "NO_CONFIG\n"
    assert (cluster / "config").read_text() == ""


def test_a_good_commit_clears_last_error(cluster, good):
    sh(f"printf 'junk' > {cluster}/config")
    assert last_error(cluster)
    (cluster / "config").write_text(good)
    assert last_error(cluster) is None


def test_sed_in_place_commits_on_rename(cluster, good):
    (cluster / "config").write_text(good)
    r = sh(f"sed -i 's/^scheduler = slurm$/scheduler = slurm\\nmax_queue_size = 5/' {cluster}/config")
    assert r.returncode == 0, r.stderr
    assert "max_queue_size = 5\n" in (cluster / "config").read_text()
    # sed's temporary file does not linger
    assert sorted(os.listdir(cluster)) == ["config", "events", "hooks", "jobs", "nodes", "status",
                                           "status.json"]


def test_immutable_fields_of_a_live_cluster_are_refused(cluster, good):
    (cluster / "config").write_text(good)
    r = sh(f"sed -i 's/base_os = alinux2/base_os = centos7/' {cluster}/config")
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert (cluster / "config").read_text() == good
    assert "base_os" in last_error(cluster)


def test_sed_in_place_with_a_bad_result_is_refused(cluster, good):
    (cluster / "config").write_text(good)
    r = sh(f"sed -i 's/scheduler = slurm/scheduler = sge/' {cluster}/config")
    assert r.returncode != 0
    assert (cluster / "config").read_text() == good
    assert "2021-12-31" in last_error(cluster)


def ansible_style_write(directory, target, text):
    """What Ansible's copy module does: a temp file in the destination
    directory, written, fsynced, chmodded, then renamed onto the target."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ansible_tmp", suffix="config")
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    os.rename(tmp, os.path.join(directory, target))


def test_python_write_temp_then_rename(cluster, good):
    ansible_style_write(cluster, "config", good)
    assert (cluster / "config").read_text() == good
    assert [n for n in os.listdir(cluster) if n.startswith(".")] == []


def test_rename_of_a_bad_temp_file_is_einval_and_the_temp_stays(cluster, good):
    (cluster / "config").write_text(good)
    with pytest.raises(OSError) as e:
        ansible_style_write(cluster, "config", GUIDE)
    assert e.value.errno == errno.EINVAL
    assert (cluster / "config").read_text() == good
    leftovers = [n for n in os.listdir(cluster) if n.startswith(".ansible_tmp")]
    assert len(leftovers) == 1  # the user can fix it and retry
    assert (cluster / leftovers[0]).read_text() == GUIDE


def test_scratch_files_live_in_memory_until_renamed(cluster, good):
    (cluster / "config.new").write_text(good)
    assert "config.new" in os.listdir(cluster)
    assert (cluster / "status").read_text() == "NO_CONFIG\n"
    os.rename(cluster / "config.new", cluster / "config")
    assert "config.new" not in os.listdir(cluster)
    assert (cluster / "config").read_text() == good
    (cluster / ".config.swp").write_bytes(b"\0swap")
    os.unlink(cluster / ".config.swp")
    assert not (cluster / ".config.swp").exists()


def test_truncate_commits_at_once(cluster, good):
    (cluster / "config").write_text(good)
    with pytest.raises(OSError) as e:
        os.truncate(cluster / "config", 10)
    assert e.value.errno == errno.EINVAL
    assert (cluster / "config").read_text() == good


def test_appending_commits_the_whole_file(cluster, good):
    (cluster / "config").write_text(good)
    r = sh(f"echo '# reviewed' >> {cluster}/config")
    assert r.returncode == 0, r.stderr
    assert (cluster / "config").read_text() == good + "# reviewed\n"
    assert events(cluster).count("config committed") == 2


def test_rewriting_the_same_bytes_is_not_an_update(cluster, good):
    (cluster / "config").write_text(good)
    (cluster / "config").write_text(good)
    assert events(cluster).count("config committed") == 1
    assert json.loads((cluster / "status.json").read_text())["generation"] == 1


def test_an_update_bumps_the_generation(cluster, good):
    (cluster / "config").write_text(good)
    (cluster / "config").write_text(with_queue_size(good, 2))
    st = json.loads((cluster / "status.json").read_text())
    assert st["generation"] == 2


def test_sge_and_torque_are_refused_with_their_end_date(cluster, good):
    for sched in ("sge", "torque"):
        with pytest.raises(OSError) as e:
            (cluster / "config").write_text(good.replace("scheduler = slurm", f"scheduler = {sched}"))
        assert e.value.errno == errno.EINVAL
        assert "2021-12-31" in last_error(cluster)


def test_credentials_in_the_config_are_refused(cluster, good):
    text = good.replace("[aws]\n", "[aws]\naws_secret_access_key = abc\n")
    with pytest.raises(OSError):
        (cluster / "config").write_text(text)
    assert "credential" in last_error(cluster)
    assert "abc" not in events(cluster)


def test_config_over_64k_is_efbig(cluster, good):
    with pytest.raises(OSError) as e:
        (cluster / "config").write_text(good + "#" * (64 * 1024))
    assert e.value.errno == errno.EFBIG
    assert (cluster / "config").read_text() == ""
    (cluster / "config").write_text(good)
    with pytest.raises(OSError) as e:
        (cluster / "config").write_text(good + "#" * (64 * 1024))
    assert e.value.errno == errno.EFBIG
    assert (cluster / "config").read_text() == good
    assert "past 65536 bytes, the limit" in last_error(cluster)
    assert "the previous config stays" in events(cluster)


def test_binary_junk_is_einval_and_nothing_is_lost(cluster, good):
    (cluster / "config").write_text(good)
    with pytest.raises(OSError) as e:
        (cluster / "config").write_bytes(os.urandom(4096))
    assert e.value.errno == errno.EINVAL
    assert (cluster / "config").read_text() == good


def test_events_grow_at_the_end_for_tail_f(cluster, good):
    with open(cluster / "events", "rb") as f:
        first = f.read()
        assert f.read() == b""
        (cluster / "config").write_text(good)
        more = f.read()
    assert b"config committed" in more
    assert (cluster / "events").read_bytes() == first + more
    assert os.stat(cluster / "events").st_size == len(first + more)


def test_control_characters_never_reach_events(cluster):
    sh(f"printf '[aws]\\n\\033]0;pwned\\007bad\\n' > {cluster}/config")
    text = events(cluster)
    assert "\x1b" not in text and "\x07" not in text
    assert all(line.count("Z ") >= 1 for line in text.splitlines())
