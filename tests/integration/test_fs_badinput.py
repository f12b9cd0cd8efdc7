"""Bad input through a real mount, on both backends (issue 7): junk as a
config, names that are too long, hold newlines, non-UTF-8 bytes or shell
metacharacters. Each gets a clear errno and a message (events and
status.json's last_error in the cluster, the daemon's log for mkdir, where
no cluster exists), nothing already stored is lost, and nothing a name
holds is ever run. (Sizes and counts past the limits: test_fs_config.py and
test_fs_hooks.py.)"""
import errno
import glob
import gzip
import json
import os
import random
import subprocess

import pytest

from fixture_mount import wait_for

# Payloads without "/" (a name cannot hold one): each would make a file
# named pcfs-pwned* in $HOME or in the current directory if a shell ran it.
PAYLOADS = ["$(cd;touch pcfs-pwned1)", "`cd;touch pcfs-pwned2`", "x;cd;touch pcfs-pwned3",
            "x|touch pcfs-pwned4", "x&&touch pcfs-pwned5", "x'\"$(touch pcfs-pwned6)\"'",
            "$IFS${HOME}x>pcfs-pwned7"]


def pwned_files(*dirs):
    found = []
    for d in (os.path.expanduser("~"), os.getcwd(), "/", "/tmp") + dirs:
        found += glob.glob(os.path.join(str(d), "pcfs-pwned*"))
    return found


def quoted(name):
    """names_quote() of fs/names.c."""
    out = ""
    for b in name[:60]:
        c = chr(b)
        out += ("\\" + c if c in '"\\' else "\\n" if c == "\n" else "\\t" if c == "\t"
                else "\\x%02x" % b if b < 0x20 or b >= 0x7f else c)
    return '"' + out + ("..." if len(name) > 60 else "") + '"'


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return e.value.errno


def status(c):
    return json.loads((c / "status.json").read_text())


def last_error(c):
    return status(c)["last_error"] or ""


def assert_clean_text(c):
    """events and status.json stay well-formed text whatever was refused."""
    raw = (c / "events").read_bytes()
    text = raw.decode("utf-8")   # valid UTF-8, or this raises
    for line in text.splitlines():
        assert line[:4].isdigit() and line[19] == "Z", repr(line)
        assert not any(ord(ch) < 0x20 for ch in line), repr(line)
    assert "\x1b" not in (c / "status.json").read_text()
    status(c)  # parses


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def junk_configs(good):
    rng = random.Random(7)
    elf = open("/bin/true", "rb").read(8192)
    return {
        "random bytes": bytes(rng.randrange(256) for _ in range(4096)),
        "an ELF binary": elf,
        "NUL bytes": b"\0" * 100,
        "a gzip of the config": gzip.compress(good.encode()),
        "UTF-16": good.encode("utf-16"),
        "Latin-1 in a comment": good.encode() + b"# caf\xe9\n",
        "terminal escapes": b"[aws]\n\x1b]0;pwned\x07\x1b[2J\n" + good.encode(),
    }


def test_junk_as_config_is_einval_with_the_line_and_nothing_is_lost(cluster, good):
    (cluster / "config").write_text(good)
    gen = status(cluster)["generation"]
    for what, data in junk_configs(good).items():
        assert errno_of(write, cluster / "config", data) == errno.EINVAL, what
        err = last_error(cluster)
        # "config:LINE: what is wrong", on one line
        assert err.startswith("config:") and err.split(":")[1].strip().isdigit(), (what, err)
        assert "\n" not in err and "\x1b" not in err, (what, err)
        assert (cluster / "config").read_text() == good, what
        assert err in (cluster / "events").read_text(), what
    assert status(cluster)["generation"] == gen
    assert_clean_text(cluster)
    # The messages say what is wrong in words a user can act on.
    write_err = {}
    for what in ("NUL bytes", "random bytes", "Latin-1 in a comment"):
        errno_of(write, cluster / "config", junk_configs(good)[what])
        write_err[what] = last_error(cluster)
    assert "NUL" in write_err["NUL bytes"]
    assert "UTF-8" in write_err["random bytes"]
    assert write_err["Latin-1 in a comment"].startswith("config:%d:" % (good.count("\n") + 1))


def test_cluster_names_60_ok_61_and_256_refused_with_a_message(mount):
    os.mkdir(mount / ("a" * 60))
    assert errno_of(os.mkdir, mount / ("b" * 61)) == errno.EINVAL
    assert errno_of(os.mkdir, mount / ("c" * 256)) == errno.ENAMETOOLONG
    assert os.listdir(mount.path) == ["a" * 60]
    log = mount.log_text()
    assert 'cluster name %s must be 1 to 60 characters, not 61' % quoted(b"b" * 61) in log
    assert "is 256 bytes; the limit is 60 characters" in log


@pytest.mark.parametrize("name", [b"a\nb", b"a\xff\xfe", b"a\x1b[31mred", b"caf\xc3\xa9"]
                         + [p.encode() for p in PAYLOADS], ids=repr)
def test_bad_cluster_names_are_einval_logged_escaped_and_never_run(mount, name, tmp_path):
    before = pwned_files(tmp_path)
    assert errno_of(os.mkdir, os.fsencode(mount.path) + b"/" + name) == errno.EINVAL
    assert os.listdir(mount.path) == []
    log = mount.log_text()
    refused = [l for l in log.splitlines() if "mkdir refused" in l]
    assert refused, log
    # The log shows the name escaped: no raw newline, escape or bad byte.
    assert "\x1b" not in log and "\ufffd" not in log
    assert 'cluster name %s ' % quoted(name) in refused[-1], refused[-1]
    assert pwned_files(tmp_path) == before == []


def test_hook_names_with_metacharacters_are_stored_as_is_and_never_run(cluster, good, tmp_path):
    pre = cluster / "hooks" / "pre"
    for i, p in enumerate(PAYLOADS):
        (pre / p).write_text(f"echo {i}\n")
    assert sorted(os.listdir(pre)) == sorted(PAYLOADS)
    for i, p in enumerate(PAYLOADS):
        assert (pre / p).read_text() == f"echo {i}\n"
    assert sorted(status(cluster)["hooks"]["pre"]) == sorted(PAYLOADS)
    (cluster / "config").write_text(good)   # the bootstrap is generated with them
    subprocess.run(["ls", "-lR", str(cluster)], check=True, capture_output=True)
    assert pwned_files(tmp_path) == []
    assert last_error(cluster) == ""


@pytest.mark.parametrize("name,code,words", [
    (b"a\nb", errno.EINVAL, '"a\\nb": byte 2 is a control character or not UTF-8'),
    (b"a\xff\xfe", errno.EINVAL, '"a\\xff\\xfe": byte 2'),
    (b"\x1b]0;x\x07", errno.EINVAL, '"\\x1b]0;x\\x07": byte 1'),
    (b"x" * 256, errno.ENAMETOOLONG, "is 256 bytes; the limit is 255"),
], ids=["newline", "non-utf8", "escape", "256-bytes"])
def test_bad_hook_names_have_an_errno_and_a_message(cluster, name, code, words):
    (cluster / "hooks" / "pre" / "keep.sh").write_text("echo keep\n")
    pre = os.fsencode(cluster / "hooks" / "pre")
    assert errno_of(write, pre + b"/" + name, b"echo\n") == code
    err = last_error(cluster)
    assert err.startswith("hooks/pre: file name ") and words in err, err
    # renaming a scratch file onto such a name is refused the same way
    (cluster / "hooks" / "pre" / ".scratch").write_text("echo scratch\n")
    assert errno_of(os.rename, pre + b"/.scratch", pre + b"/" + name) == code
    assert words in last_error(cluster)
    assert sorted(os.listdir(pre)) == [b".scratch", b"keep.sh"]
    assert status(cluster)["hooks"]["pre"] == ["keep.sh"]
    assert (cluster / "hooks" / "pre" / "keep.sh").read_text() == "echo keep\n"
    assert_clean_text(cluster)


def test_a_scratch_name_with_a_newline_in_the_cluster_is_refused_with_a_message(cluster):
    assert errno_of(write, os.fsencode(cluster) + b"/.x\ny", b"x") == errno.EINVAL
    assert '".x\\ny": byte 3' in last_error(cluster)
    assert_clean_text(cluster)


URL_HOSTILE = ["a+b", "a b", "a%20b", "a%2Bb", "a#b", "a?b=c&d", "caf\u00e9.sh", "a\\b", "~a",
               "a:b", "a;b", "*", "a\u200bb", "\u65e5\u672c"]


def test_names_that_need_url_encoding_come_back_as_written(cluster):
    post = cluster / "hooks" / "post"
    for i, name in enumerate(URL_HOSTILE):
        (post / name).write_text(f"echo {i}\n")
    assert sorted(os.listdir(post)) == sorted(URL_HOSTILE)
    assert sorted(status(cluster)["hooks"]["post"]) == sorted(URL_HOSTILE)
    for i, name in enumerate(URL_HOSTILE):
        assert (post / name).read_text() == f"echo {i}\n", name
    os.unlink(post / "a+b")
    assert "a+b" not in os.listdir(post) and "a b" in os.listdir(post)


def test_truncate_past_the_limits_is_efbig_with_a_message(cluster, good):
    (cluster / "config").write_text(good)
    (cluster / "hooks" / "pre" / "a.sh").write_text("echo a\n")
    r = subprocess.run(["truncate", "-s", "65537", str(cluster / "config")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "File too large" in r.stderr
    assert "config: truncating to 65537 bytes refused, the limit is 65536" in last_error(cluster)
    r = subprocess.run(["truncate", "-s", "2M", str(cluster / "hooks" / "pre" / "a.sh")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "File too large" in r.stderr
    assert "hooks/pre/a.sh: truncating to 2097152 bytes refused, the limit is 1048576" in \
        last_error(cluster)
    assert (cluster / "config").read_text() == good
    assert (cluster / "hooks" / "pre" / "a.sh").read_text() == "echo a\n"
