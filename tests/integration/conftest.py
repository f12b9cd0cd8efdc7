"""Shared pytest set-up for the integration tests.

Fixtures live in fixture_*.py modules beside this file, one module per area
(fixture_mount.py, fixture_localcloud.py, fixture_slurm.py, ...); they are
loaded here as plugins so any test can use any of them.
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

pytest_plugins = sorted(p.stem for p in HERE.glob("fixture_*.py"))
