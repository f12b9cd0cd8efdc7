#!/bin/sh
# Slurm's power-saving programs of a pclusterfs head node (issue 16): one
# script installed under three names, ResumeProgram (slurm_resume),
# SuspendProgram (slurm_suspend) and ResumeFailProgram (slurm_resume_fail).
# slurmctld runs them as SlurmUser, which must not hold the head role's
# credentials (only root reaches the metadata service), so they launch and
# terminate nothing: each call hands its node list to the root agent as one
# request file in the power spool (agent_power.py takes them), and returns.
#
# The spool (PCFS_POWER_SPOOL, default /var/spool/pclusterfs/power) is
# root:slurm 0730: SlurmUser may add files but not list or read what is
# there; no other user may do anything. A request appears whole (written
# beside, then renamed): its first line is the action, its second the
# host list exactly as Slurm gave it (the agent expands it with scontrol).
# For a resume, the jobs' JSON in SLURM_RESUME_FILE (readable only during
# this call) travels with it as <request>.json.
#
# POSIX sh with mktemp, cat, mv: what alinux2, centos7 and ubuntu carry.
set -u
spool=${PCFS_POWER_SPOOL:-/var/spool/pclusterfs/power}
case "$(basename "$0")" in
  slurm_resume) action=resume ;;
  slurm_suspend) action=suspend ;;
  slurm_resume_fail) action=resume_fail ;;
  *) action=${PCFS_POWER_ACTION:-} ;;
esac
case "$action" in
  resume|suspend|resume_fail) ;;
  *) echo "slurm_power.sh: called as $(basename "$0"); expected slurm_resume, slurm_suspend or slurm_resume_fail" >&2
     exit 2 ;;
esac
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "slurm_power.sh $action: expected one host list argument, got $#" >&2
  exit 2
fi
case "$1" in
  *[!A-Za-z0-9,._\[\]-]*) echo "slurm_power.sh $action: not a host list: $1" >&2; exit 2 ;;
esac
umask 077
tmp=$(mktemp "$spool/.new.XXXXXX") || { echo "slurm_power.sh $action: cannot write in $spool" >&2; exit 1; }
name="$spool/$(date +%s).$$.$action"
if [ "$action" = resume ] && [ -n "${SLURM_RESUME_FILE:-}" ] && [ -r "$SLURM_RESUME_FILE" ]; then
  jtmp=$(mktemp "$spool/.new.XXXXXX") &&
    cat "$SLURM_RESUME_FILE" > "$jtmp" &&
    mv -f "$jtmp" "$name.json" || rm -f "$jtmp"
fi
if printf '%s\n%s\n' "$action" "$1" > "$tmp" && mv -f "$tmp" "$name"; then
  exit 0
fi
rm -f "$tmp"
echo "slurm_power.sh $action: cannot write the request for $1 in $spool" >&2
exit 1
