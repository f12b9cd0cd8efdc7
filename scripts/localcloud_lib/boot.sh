#!/bin/bash
# PID 1 of a local-cloud instance, run by
#   nsenter --net=NETNS unshare --mount --uts --pid --fork --mount-proc ... boot.sh DIR
# DIR (the instance's state dir, root-only) holds hostname, private_ip,
# user-data, authorized_keys, default_user, endpoint (the local cloud's EC2/S3 URL) and
# imds (its metadata service, on a port of its own: instances read it
# instead of 169.254.169.254). Inside, DIR is /run/localcloud.
# Gives the instance a root of its own: a tmpfs holding a copy-on-write
# overlay of every top-level directory of the host (upper dirs of /etc,
# /var, /root, /home, /opt, /srv, /usr, /mnt in DIR/fs), fresh /proc, /run,
# /tmp, /dev/shm, the host's /sys and /dev; then pivot_root into it and
# detach the host's mounts, so that the instance holds none of them (a FUSE
# mount made on the host before the boot must end when the host unmounts
# it). Then a hostname, and the user data runs as root with a clean
# environment (AWS_EC2_METADATA_SERVICE_ENDPOINT naming the IMDS).
# stdout/stderr go to DIR/console.log (opened by the local cloud).
set -u
D=$1
say() { echo "[localcloud-boot $(date -u +%H:%M:%S)] $*"; }
fail() { say "boot failed: $*"; exit 1; }

chmod 700 "$D" || fail "chmod state dir"
R=$D/mnt/root
mkdir -p "$R" || fail "mkdir"
mount -t tmpfs -o mode=755 tmpfs "$R" || fail "tmpfs root"
# /run first: the overlays' throw-away upper dirs live in it.
mkdir -p "$R/run" && mount -t tmpfs -o mode=755 tmpfs "$R/run" || fail "tmpfs /run"
mkdir -p "$R/run/localcloud" "$R/run/localcloud-scratch" "$R/run/lock" "$R/run/user"
mount --bind "$D" "$R/run/localcloud" || fail "bind state dir"
S=$R/run/localcloud-scratch
mount -t tmpfs -o mode=700,size=2g tmpfs "$S" || fail "scratch tmpfs"
# Copy-on-write root: the system dirs keep their upper dirs in DIR/fs (kept
# for debugging); every other top-level dir (e.g. the one holding this
# repository) gets a throw-away upper dir, so no write reaches the host.
# A top-level mount point of the host (other than the API file systems)
# stays an empty directory.
for p in /*; do
  d=${p#/}
  if [ -L "$p" ]; then
    ln -s "$(readlink "$p")" "$R/$d" || fail "symlink $p"
    continue
  fi
  [ -d "$p" ] || continue
  mkdir -p "$R/$d" || fail "mkdir $R/$d"
  case $d in proc|sys|dev|run|tmp|lost+found) continue ;; esac
  mountpoint -q "$p" && continue
  case $d in
    etc|var|root|home|opt|srv|usr|mnt) up=$D/fs ;;
    *) up=$S ;;
  esac
  mkdir -p "$up/$d-upper" "$up/$d-work"
  # the overlay's top takes the upper dir's owner and mode: keep the host's
  # (/root stays 0700)
  chown --reference="$p" "$up/$d-upper" && chmod --reference="$p" "$up/$d-upper" ||
    fail "mode of $p"
  mount -t overlay overlay -o "lowerdir=$p,upperdir=$up/$d-upper,workdir=$up/$d-work" "$R/$d" \
    || fail "overlay $p"
done
mount -t proc proc "$R/proc" || fail "proc"
mount --rbind /sys "$R/sys" || fail "bind /sys"
mount --rbind /dev "$R/dev" || fail "bind /dev"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" || fail "tmpfs /tmp"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" || fail "tmpfs /dev/shm"
mkdir -p "$R/.old-root" || fail "mkdir old root"
cd "$R" && pivot_root . .old-root || fail "pivot_root"
cd / && umount -l /.old-root && rmdir /.old-root || fail "detach the host's mounts"
L=/run/localcloud

HN=$(cat "$L/hostname")
hostname "$HN" || fail "hostname"
echo "$HN" > /etc/hostname
IP=$(cat "$L/private_ip")
printf '127.0.0.1 localhost\n%s %s %s.localdomain\n' "$IP" "$HN" "$HN" > /etc/hosts
# The local cloud serves no DNS, and the host's resolver is out of reach:
# point lookups at the instance's own loopback, where nothing answers, so
# they fail at once (slurmrestd looks up every client) instead of timing out.
rm -f /etc/resolv.conf && printf 'nameserver 127.0.0.1\n' > /etc/resolv.conf
U=$(cat "$L/default_user" 2>/dev/null)
# root holds the key as cloud-init's disable_root leaves it: a login as root
# only says which user to log in as.
if [ -s "$L/authorized_keys" ]; then
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  if [ -n "$U" ]; then
    sed "s/^/no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user \\\\\"$U\\\\\" rather than the user \\\\\"root\\\\\".';echo;sleep 10;exit 142\" /" \
      "$L/authorized_keys" > /root/.ssh/authorized_keys
  else
    cp "$L/authorized_keys" /root/.ssh/authorized_keys
  fi
  chmod 600 /root/.ssh/authorized_keys
fi
# The image's default user (DIR/default_user), as cloud-init makes it on the
# real images: the launch's key pair in its authorized_keys, sudo without a
# password.
if [ -n "$U" ]; then
  # one uid on every node, as one image gives (instances.py's default_uid)
  UU=$(cat "$L/default_uid" 2>/dev/null)
  id "$U" >/dev/null 2>&1 || useradd -m -U ${UU:+-u "$UU"} -s /bin/bash "$U" || fail "useradd $U"
  UH=$(getent passwd "$U" | cut -d: -f6)
  if [ -s "$L/authorized_keys" ]; then
    install -d -m 700 -o "$U" -g "$U" "$UH/.ssh" &&
      install -m 600 -o "$U" -g "$U" "$L/authorized_keys" "$UH/.ssh/authorized_keys" ||
      fail "authorized_keys of $U"
  fi
  mkdir -p /etc/sudoers.d &&
    echo "$U ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/90-cloud-init-users &&
    chmod 440 /etc/sudoers.d/90-cloud-init-users || fail "sudoers of $U"
fi
# sshd, started as the image's init starts it (before the user data is
# done), with host keys of its own made at first boot (the ones in the
# host's /etc/ssh are the host's: gone from this root first). ed25519 and
# ecdsa only: an RSA key (ssh-keygen -A) costs seconds of CPU per boot here.
if [ -x /usr/sbin/sshd ]; then
  rm -f /etc/ssh/ssh_host_*
  hk=()
  for t in ed25519 ecdsa; do
    ssh-keygen -q -t $t -N "" -f /etc/ssh/ssh_host_${t}_key || fail "ssh-keygen $t"
    hk+=(-o "HostKey=/etc/ssh/ssh_host_${t}_key")
  done
  mkdir -p /run/sshd && chmod 755 /run/sshd
  /usr/sbin/sshd "${hk[@]}" || fail "sshd"
  say "sshd started (default user ${U:-none})"
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
  IMDS=$(cat "$L/imds" 2>/dev/null)
  (cd / && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 SHELL=/bin/bash TERM=dumb \
      ${IMDS:+AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS/"} "${run[@]}") </dev/null
  rc=$?
  echo "$rc" > "$L/user-data.exit"
  say "user data exited $rc"
fi
# Stay as init: reap orphans until the local cloud kills the namespace.
trap '' TERM INT HUP
while :; do sleep 3600 & wait $!; done
