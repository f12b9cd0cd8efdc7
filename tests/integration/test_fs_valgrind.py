"""A mount driven through its main paths under valgrind memcheck: no
invalid access, no use of uninitialised memory, no definite leak."""
import os
import re
import shutil
import subprocess

import pytest

from configs import GOOD
from fixture_mount import Mount

pytestmark = [pytest.mark.valgrind, pytest.mark.slow]


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is installed by install-deps")
def test_memcheck_clean(tmp_path):
    vlog = tmp_path / "valgrind.log"
    m = Mount(tmp_path, options=["memory"], wrapper=["valgrind", "--tool=memcheck", "--leak-check=full",
                                 "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                                 f"--log-file={vlog}"])
    m.start(timeout=60)
    try:
        c = m / "vg"
        c.mkdir()
        (c / "config").write_text(GOOD)
        with pytest.raises(OSError):
            (c / "config").write_text("[cluster default]\nbogus = 1\n")
        (c / "hooks" / "pre" / "a.sh").write_text("echo a\n")
        subprocess.run(["sed", "-i", "s/a/b/", str(c / "hooks" / "pre" / "a.sh")], check=True)
        (c / ".scratch").write_text(GOOD)
        os.rename(c / ".scratch", c / "config")
        subprocess.run(["ls", "-lR", str(m.path)], check=True, capture_output=True)
        for name in ("status", "status.json", "events", "config"):
            (c / name).read_bytes()
        os.unlink(c / "hooks" / "pre" / "a.sh")
        os.rmdir(c)
    finally:
        rc = m.stop(timeout=60)
    report = vlog.read_text()
    assert rc == 0, report[-4000:]
    assert re.search(r"ERROR SUMMARY: 0 errors", report), report[-4000:]
