#!/bin/bash
# PID 1 of a local-cloud instance, run by
#   nsenter --net=NETNS unshare --mount --uts --pid --fork --mount-proc ... boot.sh DIR
# DIR (the instance's state dir) holds hostname, private_ip, user-data,
# authorized_keys and endpoint (the local cloud's URL, which is also its
# IMDS: instances read /run/localcloud/endpoint instead of 169.254.169.254).
# Gives the instance a copy-on-write view of every top-level directory (upper
# dirs of /etc, /var, /root, /home, /opt, /srv, /usr, /mnt in DIR/fs), fresh
# /run, /tmp, /dev/shm, a hostname, then runs the user data as root with a
# clean environment.
# stdout/stderr go to DIR/console.log (opened by the local cloud).
set -u
D=$1
say() { echo "[localcloud-boot $(date -u +%H:%M:%S)] $*"; }
fail() { say "boot failed: $*"; exit 1; }

# Keep DIR reachable at /run/localcloud whatever gets mounted over it: a
# fresh tmpfs for /run holding a bind of DIR, moved onto /run.
mkdir -p "$D/mnt/run" || fail "mkdir"
mount -t tmpfs -o mode=755 tmpfs "$D/mnt/run" || fail "tmpfs /run"
mkdir -p "$D/mnt/run/localcloud"
mount --bind "$D" "$D/mnt/run/localcloud" || fail "bind state dir"
mount -n --move "$D/mnt/run" /run || fail "move /run"
L=/run/localcloud
# Copy-on-write root: the system dirs keep their upper dirs in DIR/fs (kept
# for debugging); every other top-level dir (e.g. the one holding this
# repository) gets a throw-away upper dir, so no write reaches the host.
mkdir -p /run/localcloud-scratch
mount -t tmpfs -o mode=700,size=2g tmpfs /run/localcloud-scratch || fail "scratch tmpfs"
for p in /*; do
  d=${p#/}
  [ -d "$p" ] && [ ! -L "$p" ] || continue
  case $d in proc|sys|dev|run|tmp|lost+found) continue ;; esac
  mountpoint -q "$p" && continue
  case $d in
    etc|var|root|home|opt|srv|usr|mnt) up=$L/fs ;;
    *) up=/run/localcloud-scratch ;;
  esac
  mkdir -p "$up/$d-upper" "$up/$d-work"
  mount -t overlay overlay -o "lowerdir=$p,upperdir=$up/$d-upper,workdir=$up/$d-work" "$p" \
    || fail "overlay $p"
done
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "tmpfs /dev/shm"
mkdir -p /run/lock /run/user

HN=$(cat "$L/hostname")
hostname "$HN" || fail "hostname"
echo "$HN" > /etc/hostname
IP=$(cat "$L/private_ip")
printf '127.0.0.1 localhost\n%s %s %s.localdomain\n' "$IP" "$HN" "$HN" > /etc/hosts
# The local cloud serves no DNS, and the host's resolver is out of reach:
# point lookups at the instance's own loopback, where nothing answers, so
# they fail at once (slurmrestd looks up every client) instead of timing out.
rm -f /etc/resolv.conf && printf 'nameserver 127.0.0.1\n' > /etc/resolv.conf
if [ -s "$L/authorized_keys" ]; then
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  cp "$L/authorized_keys" /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
# The instance type's vCPUs: everything started from here is pinned to them,
# so nproc inside reports the type's count.
CPUS=$(cat "$L/cpus" 2>/dev/null)
[ -n "$CPUS" ] && taskset -pc "$CPUS" $$ >/dev/null
say "booted $HN ($IP, cpus $CPUS)"

mkdir -p /var/lib/cloud/instance
cp "$L/user-data" /var/lib/cloud/instance/user-data.txt 2>/dev/null || : > /var/lib/cloud/instance/user-data.txt
chmod 700 /var/lib/cloud/instance/user-data.txt
UD=/var/lib/cloud/instance/user-data.txt
if [ -s "$UD" ]; then
  say "running user data"
  if [ "$(head -c 2 "$UD")" = "#!" ]; then run=("$UD"); else run=(/bin/sh "$UD"); fi
  (cd / && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 SHELL=/bin/bash TERM=dumb \
      "${run[@]}") </dev/null
  rc=$?
  echo "$rc" > "$L/user-data.exit"
  say "user data exited $rc"
fi
# Stay as init: reap orphans until the local cloud kills the namespace.
trap '' TERM INT HUP
while :; do sleep 3600 & wait $!; done
