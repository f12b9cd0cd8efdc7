#!/bin/sh
# Starts the head node's agent (agent_main.py beside this file) with a
# Python 3 that every supported image carries: /usr/bin/python3 when it is
# 3.6 or newer, else ParallelCluster's own Python, which its cookbook builds
# with pyenv under /opt/parallelcluster/pyenv/versions/<version>/ (v2: 3.6.9,
# later 3.7 and up) with the cookbook_virtualenv and node_virtualenv in
# envs/. Only the standard library is used; -I keeps the environment's
# PYTHON* variables and the user's site out, -B writes no bytecode.
# agent.sh --which prints the interpreter and exits. agent.sh --supervise
# CONFIG runs the agent's loop and starts it again 5 seconds after it ends,
# for ever (the head's bootstrap starts it with setsid: a supervisor that is
# the same on every image, init system or none).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

usable() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info < (3, 6))' 2>/dev/null; }

find_python() {
  if usable /usr/bin/python3; then echo /usr/bin/python3; return 0; fi
  for p in /opt/parallelcluster/pyenv/versions/*/envs/cookbook_virtualenv/bin/python3 \
           /opt/parallelcluster/pyenv/versions/*/envs/node_virtualenv/bin/python3 \
           /opt/parallelcluster/pyenv/versions/*/bin/python3; do
    if usable "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

py=$(find_python) || { echo "pclusterfs-agent: no Python 3.6+ found" >&2; exit 1; }
if [ "${1-}" = --which ]; then echo "$py"; exit 0; fi
if [ "${1-}" = --supervise ]; then
  [ $# -eq 2 ] || { echo "usage: agent.sh --supervise CONFIG" >&2; exit 2; }
  while :; do
    rc=0
    "$py" -I -B "$here/agent_main.py" "$2" || rc=$?
    echo "pclusterfs-agent: exited $rc; starting again in 5 seconds" >&2
    sleep 5
  done
fi
exec "$py" -I -B "$here/agent_main.py" "$@"
