"""File automation works unchanged (issue 20): a real Ansible playbook
(Debian's ansible-core, ansible.builtin modules only) creates a cluster in
the local cloud through the mount, waits for CREATE_COMPLETE with wait_for's
search_regex (which reads the file through mmap), adds a hook, resizes with
lineinfile, waits for UPDATE_COMPLETE; a second run changes nothing; the
playbook's documented task (file: state=absent) deletes the cluster.

Ansible runs offline (in a network namespace of its own, with no interface
up) and with /usr/bin/python3, as a workstation without internet would."""
import os
import re
import subprocess
import time

import pytest

from fixture_mount import bucket_mount, good_config_for

pytestmark = [pytest.mark.boot, pytest.mark.slow]

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(HERE, "ansible", "cluster.yml")


def playbook(tmp_path, mount_dir, config_file, *extra):
    """Runs the playbook offline; returns (changed tasks, output)."""
    ansible_cfg = tmp_path / "ansible.cfg"  # none of the machine's settings
    ansible_cfg.write_text("[defaults]\n")
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp_path / "home"),
           "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONFIG": str(ansible_cfg),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
           "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
           "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
           "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "no-collections")}
    os.makedirs(env["HOME"], exist_ok=True)
    cmd = ["unshare", "--net", "--", "/usr/bin/ansible-playbook", "-i", "localhost,", "-c",
           "local", PLAYBOOK, "-e", f"mount={mount_dir}", "-e", "cluster=lab",
           "-e", f"config_file={config_file}", *extra]
    r = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+"
                  r"failed=(\d+)", out)
    assert m, out
    ok, changed, unreachable, failed = map(int, m.groups())
    assert unreachable == 0 and failed == 0, out
    return changed, out


def test_a_playbook_creates_updates_and_deletes_a_cluster(tmp_path, localcloud_factory):
    assert os.path.exists("/usr/bin/ansible-playbook"), "scripts/install-deps installs ansible-core"
    lc = localcloud_factory(boot=True)
    lc.aws("ec2", "create-key-pair", "--key-name", "lab-3-your-key")
    m = bucket_mount(tmp_path, lc, options=["refresh=2"]).start()
    bucket = m.options[0].split("=", 1)[1]
    try:
        cfg = tmp_path / "lab.ini"
        cfg.write_text(good_config_for(lc))  # no max_queue_size: v2's default, 10
        c = m.path / "lab"
        t0 = time.monotonic()
        changed, out = playbook(tmp_path, m.path, cfg)
        assert changed == 4, out  # mkdir, config, hook, resize
        assert (c / "status").read_text() == "UPDATE_COMPLETE\n", out
        text = (c / "config").read_text()
        assert text.count("max_queue_size") == 1 and "\nmax_queue_size = 3\n" in text
        assert (c / "hooks" / "post" / "10-motd.sh").read_text().startswith("#!/bin/bash\n")
        assert not [n for n in os.listdir(c) if n.startswith(".")]  # no temp file left
        t1 = time.monotonic()
        changed, out = playbook(tmp_path, m.path, cfg)
        assert changed == 0, out
        t2 = time.monotonic()
        changed, out = playbook(tmp_path, m.path, cfg, "-e", "cluster_state=absent")
        assert changed == 1, out
        assert not c.exists() and os.listdir(m.path) == []
        r = lc.aws_json("ec2", "describe-instances", "--filters",
                        f"Name=tag:pclusterfs:owner,Values={bucket}",
                        "Name=instance-state-name,Values=pending,running,stopping,stopped")
        assert not [i for res in (r or {}).get("Reservations", []) for i in res["Instances"]]
        print(f"ansible: create+update {t1 - t0:.1f} s, second run {t2 - t1:.1f} s, "
              f"delete {time.monotonic() - t2:.1f} s")
    finally:
        rc = m.stop()
    assert rc == 0, m.log_text()
