#!/bin/bash
# pclusterfs node bootstrap, stage 2: bootstrap.sh MANIFEST
# Runs as root on every node, after stage 1 (userdata.sh.in) fetched the
# manifest and kept the IMDS from other users. In order: download every file
# the manifest names (its GET URLs live minutes: nothing is fetched later),
# install pre + hooks/pre, Slurm (head: munged, slurmctld, slurmrestd;
# compute: munged, slurmd as a dynamic node), install post + hooks/post.
# Progress and output go to the manifest's presigned PUT URL as a report
# (state, step, failure, exit, then the log's tail); the last report made,
# the manifest is deleted. Every manifest value is data: validated, quoted,
# never evaluated. URLs reach curl on stdin, never on its command line (every
# user reads those in /proc); keys are readable by root and their daemon's
# user only (munge.key: munge, 0400; jwt_hs256.key: slurm, 0400).
#
# Manifest (one entry a line, fields split by spaces, unknown keys ignored):
#   version 1 | cluster NAME | node NAME | node_type HeadNode|Compute |
#   region R | head_address IPV4 (Compute; on the head optional) |
#   head_hostname NAME | cpus N | memory_mib N | attempt N | report PUT-URL |
#   generation N (of the config whose hooks these are; optional) |
#   file stage2|munge_key|ssh_key|slurm_conf|jwt_key URL (the last two: HeadNode) |
#   install pre|post URL BASE64-ARGS | hook pre|post BASE64-NAME URL (in order) |
#   file agent NAME URL (HeadNode, one per file of the agent) |
#   agent_config BASE64-JSON (HeadNode: the agent's config, agent_main.py's)
# Report (text/plain PUT, after every state change and before each script):
#   state pre|configuring|post|done|failed, step WHAT, failure CODE, exit N,
#   attempt N (the manifest's: a report counts only for its launch),
#   instance ID (this instance's, from the IMDS), generation N (the
#   manifest's), hook pre|post NAME (one per hook run so far, in order: the
#   hook set this node ran), "--", then the last 200 lines (at most 64 KiB)
#   of the bootstrap log.
# Files: /var/lib/pclusterfs (0700): manifest, bootstrap.log, pre/NNN and
# post/NNN (hooks, numbered in manifest order), pre/install, post/install,
# files/ (keys and slurm.conf until they are installed). The head's agent
# (when the manifest names it): /opt/pclusterfs/agent (0700: its files and
# config.json), its state in /var/lib/pclusterfs/agent, its log
# /var/log/pclusterfs-agent.log (0600), all root's; it runs as root, under
# agent.sh --supervise, once one round of it published Slurm's view.
set -u
umask 077
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

MANIFEST=${1:?usage: bootstrap.sh MANIFEST}
D=/var/lib/pclusterfs
LOG=$D/bootstrap.log
mkdir -p "$D" && chmod 700 "$D"
: >> "$LOG"

log() { printf '[pclusterfs %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >> "$LOG"; }
printable() { printf '%s' "$1" | tr -d '\r' | tr '[:cntrl:]' '?'; }

# ---------- the manifest ----------
VERSION='' CLUSTER='' NODE='' NODE_TYPE='' REGION='' HEAD_ADDRESS='' HEAD_HOSTNAME=''
CPUS='' MEMORY_MIB='' ATTEMPT='' GENERATION='' REPORT_URL='' SLURM_CONF_URL='' MUNGE_KEY_URL=''
JWT_KEY_URL='' SSH_KEY_URL='' INSTALL_PRE_URL='' INSTALL_PRE_ARGS='' INSTALL_POST_URL='' INSTALL_POST_ARGS=''
PRE_NAMES=() PRE_URLS=() POST_NAMES=() POST_URLS=() AGENT_NAMES=() AGENT_URLS=() AGENT_CONFIG=''
BAD=''

is_url() { [[ $1 =~ ^https?://[^[:space:]\"\\]+$ ]]; }   # no quote: curl config syntax
# curl_url URL CURL-ARGS...: curl with the URL in a config on its stdin.
curl_url() { local url=$1; shift; printf 'url = "%s"\n' "$url" | curl -K - "$@"; }
is_b64() { [[ $1 =~ ^[A-Za-z0-9+/]*=*$ ]]; }
b64() { printf '%s' "$1" | base64 -d 2>/dev/null; }

while IFS=' ' read -r -a f || [ ${#f[@]} -gt 0 ]; do
  [ ${#f[@]} -eq 0 ] && continue
  k=${f[0]} v1=${f[1]-} v2=${f[2]-} v3=${f[3]-}
  case $k in
    version) VERSION=$v1 ;;
    cluster) CLUSTER=$v1 ;;
    node) NODE=$v1 ;;
    node_type) NODE_TYPE=$v1 ;;
    region) REGION=$v1 ;;
    head_address) HEAD_ADDRESS=$v1 ;;
    head_hostname) HEAD_HOSTNAME=$v1 ;;
    cpus) CPUS=$v1 ;;
    memory_mib) MEMORY_MIB=$v1 ;;
    attempt) ATTEMPT=$v1 ;;
    generation) GENERATION=$v1 ;;
    report) REPORT_URL=$v1 ;;
    file)
      if [ "$v1" = agent ]; then
        [[ $v2 =~ ^(agent[a-z0-9_]*\.(py|sh)|slurm_power\.sh|userdata\.sh\.in)$ ]] && is_url "$v3" ||
          BAD="file agent: bad name or URL"
        AGENT_NAMES+=("$v2") AGENT_URLS+=("$v3")
        continue
      fi
      case $v1 in
        stage2) ;;   # stage 1 used it
        slurm_conf) SLURM_CONF_URL=$v2 ;;
        munge_key) MUNGE_KEY_URL=$v2 ;;
        jwt_key) JWT_KEY_URL=$v2 ;;
        ssh_key) SSH_KEY_URL=$v2 ;;
      esac
      is_url "$v2" || BAD="file $v1: not a URL" ;;
    agent_config)
      is_b64 "$v1" || BAD="agent_config: not base64"
      AGENT_CONFIG=$(b64 "$v1") ;;
    install)
      is_url "$v2" && is_b64 "$v3" || BAD="install $v1: bad URL or args"
      case $v1 in
        pre) INSTALL_PRE_URL=$v2 INSTALL_PRE_ARGS=$(b64 "$v3") ;;
        post) INSTALL_POST_URL=$v2 INSTALL_POST_ARGS=$(b64 "$v3") ;;
        *) BAD="install $v1: neither pre nor post" ;;
      esac ;;
    hook)
      is_b64 "$v2" && is_url "$v3" || BAD="hook $v1: bad name or URL"
      case $v1 in
        pre) PRE_NAMES+=("$(b64 "$v2")") PRE_URLS+=("$v3") ;;
        post) POST_NAMES+=("$(b64 "$v2")") POST_URLS+=("$v3") ;;
        *) BAD="hook $v1: neither pre nor post" ;;
      esac ;;
  esac
done < "$MANIFEST"

[ "$VERSION" = 1 ] || BAD="manifest version '$(printable "$VERSION")' is not 1"
[[ $CLUSTER =~ ^[A-Za-z][A-Za-z0-9-]{0,59}$ ]] || BAD="bad cluster name"
[[ $NODE =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,62}$ ]] || BAD="bad node name"
[[ $NODE_TYPE =~ ^(HeadNode|Compute)$ ]] || BAD="bad node_type"
[[ $REGION =~ ^[a-z0-9-]{1,40}$ ]] || BAD="bad region"
[[ $HEAD_HOSTNAME =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,62}$ ]] || BAD="bad head_hostname"
[[ $CPUS =~ ^[1-9][0-9]{0,4}$ ]] || BAD="bad cpus"
[[ $MEMORY_MIB =~ ^[1-9][0-9]{0,8}$ ]] || BAD="bad memory_mib"
[[ $ATTEMPT =~ ^[1-9][0-9]{0,5}$ ]] || BAD="bad attempt"
[ -z "$GENERATION" ] || [[ $GENERATION =~ ^[1-9][0-9]{0,8}$ ]] || BAD="bad generation"
is_url "$REPORT_URL" || BAD="bad report URL"
is_url "$MUNGE_KEY_URL" || BAD="no munge_key"
IPV4='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
if [ "$NODE_TYPE" = Compute ]; then
  [[ $HEAD_ADDRESS =~ $IPV4 ]] || BAD="bad head_address"
else
  [ -z "$HEAD_ADDRESS" ] || [[ $HEAD_ADDRESS =~ $IPV4 ]] || BAD="bad head_address"
  is_url "$SLURM_CONF_URL" || BAD="no slurm_conf"
  is_url "$JWT_KEY_URL" || BAD="no jwt_key"
  if [ ${#AGENT_NAMES[@]} -gt 0 ] || [ -n "$AGENT_CONFIG" ]; then
    [ -n "$AGENT_CONFIG" ] || BAD="agent files without agent_config"
    [[ " ${AGENT_NAMES[*]+${AGENT_NAMES[*]}} " == *" agent.sh "* ]] || BAD="agent_config without agent.sh"
  fi
fi

# ---------- the report ----------
# instance_id: this instance's id from the IMDS (IMDSv2: a token first), as
# root (stage 1 keeps the IMDS from other users); "" when it does not answer.
instance_id() {
  local ep=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254/} token id
  ep=${ep%/}
  token=$(curl -sS -f --connect-timeout 2 --max-time 5 -X PUT "$ep/latest/api/token" \
            -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' 2>> "$D/report.err") || return 0
  [[ $token =~ ^[A-Za-z0-9_=+/-]+$ ]] || return 0
  # the token reaches curl on stdin, like the URLs: every user reads /proc
  id=$(printf 'header = "X-aws-ec2-metadata-token: %s"\n' "$token" |
         curl -K - -sS -f --connect-timeout 2 --max-time 5 "$ep/latest/meta-data/instance-id" \
         2>> "$D/report.err") || return 0
  [[ $id =~ ^i-[0-9a-f]{1,29}$ ]] && printf '%s' "$id"
}
STATE=pre STEP='' FAILURE='' EXIT='' INSTANCE_ID='' RAN=()
report() {
  local body=$D/report.txt i
  [ -n "$INSTANCE_ID" ] || INSTANCE_ID=$(instance_id)
  {
    echo "state $STATE"
    [ -n "$STEP" ] && echo "step $(printable "$STEP")"
    [ -n "$FAILURE" ] && echo "failure $FAILURE"
    [ -n "$EXIT" ] && echo "exit $EXIT"
    [[ $ATTEMPT =~ ^[1-9][0-9]{0,5}$ ]] && echo "attempt $ATTEMPT"
    [ -n "$INSTANCE_ID" ] && echo "instance $INSTANCE_ID"
    [[ $GENERATION =~ ^[1-9][0-9]{0,8}$ ]] && echo "generation $GENERATION"
    for i in ${RAN[@]+"${RAN[@]}"}; do echo "hook $(printable "$i")"; done
    echo "--"
    tail -n 200 "$LOG" | tail -c 65536
  } > "$body"
  is_url "$REPORT_URL" || return 0
  for i in 1 2 3 4 5; do
    curl_url "$REPORT_URL" -sS -f --connect-timeout 10 --max-time 60 -X PUT \
      -H 'Content-Type: text/plain' --data-binary "@$body" -o /dev/null 2>> "$D/report.err" &&
      return 0
    sleep $((i * 2))
  done
  return 1
}
progress() { STATE=$1 STEP=${2-}; log "state $STATE"; report; }
# The bootstrap's last report is made: nothing needs the manifest's URLs.
forget_urls() { rm -f "$MANIFEST" "$D/report.txt"; }
fail() {   # fail FAILURE_CODE EXIT_CODE MESSAGE
  STATE=failed FAILURE=$1 EXIT=$2
  log "failed: $3 (exit $2)"
  report
  forget_urls
  printf 'pclusterfs bootstrap failed: %s (exit %s)\n' "$(printable "$3")" "$2" >&2
  exit 1
}

if [ -n "$BAD" ]; then
  STEP=manifest
  fail SlurmConfigurationFailure 2 "invalid manifest: $BAD"
fi
if [ -n "${PCLUSTERFS_IMDS_GUARD_ERROR-}" ]; then
  STEP=imds
  fail SlurmConfigurationFailure 1 "$PCLUSTERFS_IMDS_GUARD_ERROR"
fi
unset PCLUSTERFS_IMDS_GUARD_ERROR

# ---------- downloads and hooks ----------
fetch() {   # fetch URL FILE MODE
  local i
  for i in 1 2 3 4 5; do
    if curl_url "$1" -sS -f -L --connect-timeout 10 --max-time 300 -o "$2.tmp" 2>> "$LOG"; then
      chmod "$3" "$2.tmp" && mv -f "$2.tmp" "$2" && return 0
    fi
    sleep $((i * 2))
  done
  rm -f "$2.tmp"
  return 1
}

# split_words STRING: the words a POSIX shell would make of STRING (quotes,
# backslashes; no expansion, no substitution, nothing run) into WORDS.
split_words() {
  local s=$1 n=${#1} i=0 c w='' inword=0 q=''
  WORDS=()
  while [ $i -lt $n ]; do
    c=${s:i:1}
    if [ "$q" = "'" ]; then
      if [ "$c" = "'" ]; then q=''; else w+=$c; fi
    elif [ "$q" = '"' ]; then
      if [ "$c" = '"' ]; then q=''
      elif [ "$c" = '\' ] && [ $((i + 1)) -lt $n ]; then
        i=$((i + 1)); c=${s:i:1}
        case $c in
          '$'|'`'|'"'|'\') w+=$c ;;
          $'\n') ;;
          *) w+="\\$c" ;;
        esac
      else w+=$c; fi
    else
      case $c in
        ' '|$'\t'|$'\n')
          if [ $inword = 1 ]; then WORDS+=("$w"); w='' inword=0; fi ;;
        "'"|'"') q=$c inword=1 ;;
        '\')
          i=$((i + 1))
          if [ $i -lt $n ]; then
            c=${s:i:1}
            [ "$c" = $'\n' ] || { w+=$c; inword=1; }
          fi ;;
        *) w+=$c inword=1 ;;
      esac
    fi
    i=$((i + 1))
  done
  [ -z "$q" ] || return 1
  [ $inword = 1 ] && WORDS+=("$w")
  return 0
}

hook_env() {
  export cfn_region=$REGION cfn_scheduler=slurm cfn_cluster_name=$CLUSTER
  export PCLUSTERFS_NODE_NAME=$NODE
  if [ "$NODE_TYPE" = HeadNode ]; then
    export cfn_node_type=MasterServer
    unset cfn_head_node
  else
    export cfn_node_type=ComputeFleet cfn_head_node=$HEAD_ADDRESS
  fi
}

# download_script FAILURE_CODE STEP FILE URL: the script, or the bootstrap fails.
download_script() {
  STEP=$2
  fetch "$4" "$3" 700 || fail "$1" 1 "$(printable "$2"): download failed"
  sed -i 's/\r$//' "$3"
}

# download_all: every file of the manifest, at once: the GET URLs live
# minutes, and a compute node may wait long for its head before its post
# hooks run.
download_all() {
  local i
  mkdir -p "$D/pre" "$D/post" "$D/files" && chmod 700 "$D/pre" "$D/post" "$D/files"
  STEP=download
  fetch "$MUNGE_KEY_URL" "$D/files/munge.key" 400 ||
    fail SlurmConfigurationFailure 1 "munge.key: download failed"
  [ -z "$SSH_KEY_URL" ] || fetch "$SSH_KEY_URL" "$D/files/ssh.key" 400 ||
    fail SlurmConfigurationFailure 1 "ssh.key: download failed"
  if [ "$NODE_TYPE" = HeadNode ]; then
    fetch "$SLURM_CONF_URL" "$D/files/slurm.conf" 600 ||
      fail SlurmConfigurationFailure 1 "slurm.conf: download failed"
    fetch "$JWT_KEY_URL" "$D/files/jwt.key" 400 ||
      fail SlurmConfigurationFailure 1 "jwt.key: download failed"
    mkdir -p "$D/files/agent" && chmod 700 "$D/files/agent"
    for ((i = 0; i < ${#AGENT_NAMES[@]}; i++)); do
      fetch "${AGENT_URLS[$i]}" "$D/files/agent/${AGENT_NAMES[$i]}" 600 ||
        fail SlurmConfigurationFailure 1 "agent file ${AGENT_NAMES[$i]}: download failed"
    done
  fi
  [ -z "$INSTALL_PRE_URL" ] || download_script OnNodeStartExecutionFailure pre_install \
    "$D/pre/install" "$INSTALL_PRE_URL"
  for ((i = 0; i < ${#PRE_NAMES[@]}; i++)); do
    download_script OnNodeStartExecutionFailure "hooks/pre/${PRE_NAMES[$i]}" \
      "$D/pre/$(printf '%03d' "$i")" "${PRE_URLS[$i]}"
  done
  [ -z "$INSTALL_POST_URL" ] || download_script OnNodeConfiguredExecutionFailure post_install \
    "$D/post/install" "$INSTALL_POST_URL"
  for ((i = 0; i < ${#POST_NAMES[@]}; i++)); do
    download_script OnNodeConfiguredExecutionFailure "hooks/post/${POST_NAMES[$i]}" \
      "$D/post/$(printf '%03d' "$i")" "${POST_URLS[$i]}"
  done
}

# run_script FAILURE_CODE STEP FILE [ARGS...]: runs FILE (downloaded) as root
# (its shebang decides; none means bash), output to the log.
run_script() {
  local code=$1 step=$2 file=$3 rc
  shift 3
  STEP=$step
  log "running $(printable "$step")"
  report
  if [ "$(head -c 2 "$file")" = '#!' ]; then
    (cd / && hook_env && exec "$file" "$@") < /dev/null >> "$LOG" 2>&1
  else
    (cd / && hook_env && exec /bin/bash "$file" "$@") < /dev/null >> "$LOG" 2>&1
  fi
  rc=$?
  if [ $rc -ne 0 ]; then
    fail "$code" "$rc" "$(printable "$step") exited $rc"
  fi
  log "$(printable "$step") done"
}

# run_phase pre|post FAILURE_CODE: install with its args, then the hooks.
run_phase() {
  local phase=$1 code=$2 url args i name
  if [ "$phase" = pre ]; then url=$INSTALL_PRE_URL args=$INSTALL_PRE_ARGS
  else url=$INSTALL_POST_URL args=$INSTALL_POST_ARGS; fi
  if [ -n "$url" ]; then
    if ! split_words "$args"; then
      STEP="${phase}_install"
      fail "$code" 2 "${phase}_install_args has an unterminated quote"
    fi
    run_script "$code" "${phase}_install" "$D/$phase/install" ${WORDS[@]+"${WORDS[@]}"}
  fi
  if [ "$phase" = pre ]; then
    for ((i = 0; i < ${#PRE_NAMES[@]}; i++)); do
      name=${PRE_NAMES[$i]}
      RAN+=("pre $name")
      run_script "$code" "hooks/pre/$name" "$D/pre/$(printf '%03d' "$i")"
    done
  else
    for ((i = 0; i < ${#POST_NAMES[@]}; i++)); do
      name=${POST_NAMES[$i]}
      RAN+=("post $name")
      run_script "$code" "hooks/post/$name" "$D/post/$(printf '%03d' "$i")"
    done
  fi
}

# ---------- Slurm ----------
# step NAME COMMAND...: runs a configuration command, output to the log;
# a failure stops the bootstrap with SlurmConfigurationFailure.
step() {
  local rc
  STEP=$1
  shift
  "$@" < /dev/null >> "$LOG" 2>&1
  rc=$?
  [ $rc -eq 0 ] || fail SlurmConfigurationFailure "$rc" "$STEP failed"
}

if [ -x /opt/slurm/sbin/slurmctld ] || [ -x /opt/slurm/sbin/slurmd ]; then
  SLURM=/opt/slurm CONF_DIR=/opt/slurm/etc
else
  SLURM=/usr CONF_DIR=/etc/slurm
fi
export PATH=$SLURM/bin:$SLURM/sbin:$PATH
HEAD_WAIT=1800   # seconds a compute node waits for the head's slurmctld

wait_until() {   # wait_until SECONDS COMMAND...
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 1
  done
}

my_address() { hostname -I 2>/dev/null | awk '{print $1}'; }

# The node's hostname becomes its Slurm name (the head's: the name
# SlurmctldHost gives it, which slurmctld requires), and /etc/hosts names
# this node and the head.
set_names() {
  local me name=$NODE
  [ "$NODE_TYPE" = HeadNode ] && name=$HEAD_HOSTNAME
  me=$(my_address)
  hostname "$name" && printf '%s\n' "$name" > /etc/hostname && chmod 644 /etc/hostname ||
    return 1
  {
    grep -v -w -F -e "$name" -e "$HEAD_HOSTNAME" /etc/hosts
    if [ -n "$me" ]; then echo "$me $name"; fi
    if [ "$NODE_TYPE" = Compute ]; then echo "$HEAD_ADDRESS $HEAD_HOSTNAME"; fi
  } > "$D/hosts" && cat "$D/hosts" > /etc/hosts
}

# The cluster's ssh key for the image's default user (the first of
# ec2-user, centos, ubuntu that exists, as cloud-init made it): its
# identity (0600, the user's), its public half in authorized_keys, and
# host keys of the cluster's nodes taken on first use (each node makes its
# own at boot, so no cluster-wide list can be known beforehand; within the
# cluster's groups only its nodes reach port 22 besides ssh_from).
install_ssh_key() {
  local user home pub
  [ -s "$D/files/ssh.key" ] || return 0
  for user in ec2-user centos ubuntu ''; do
    [ -n "$user" ] || { log "no default user (ec2-user, centos, ubuntu): no cluster ssh key"; return 0; }
    id "$user" >/dev/null 2>&1 && break
  done
  home=$(getent passwd "$user" | cut -d: -f6)
  [ -n "$home" ] && [ -d "$home" ] || return 1
  mkdir -p "$home/.ssh" && chmod 700 "$home/.ssh" || return 1
  (umask 077 && cp "$D/files/ssh.key" "$home/.ssh/id_ecdsa") || return 1
  pub=$(ssh-keygen -y -f "$home/.ssh/id_ecdsa") || return 1
  printf '%s\n' "$pub" > "$home/.ssh/id_ecdsa.pub"
  touch "$home/.ssh/authorized_keys"
  grep -qxF "$pub" "$home/.ssh/authorized_keys" ||
    printf '%s pclusterfs-cluster-%s\n' "$pub" "$CLUSTER" >> "$home/.ssh/authorized_keys"
  if ! grep -q '^# pclusterfs cluster' "$home/.ssh/config" 2>/dev/null; then
    printf '# pclusterfs cluster %s: its nodes by name, host keys taken on first use\nHost %s *-st-* *-dy-*\n  StrictHostKeyChecking accept-new\n' \
      "$CLUSTER" "$HEAD_HOSTNAME" >> "$home/.ssh/config"
  fi
  chmod 600 "$home/.ssh/authorized_keys" "$home/.ssh/config" "$home/.ssh/id_ecdsa" &&
    chown -R "$user:" "$home/.ssh"
}

start_munge() {
  mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge || return 1
  chmod 700 /etc/munge && mv -f "$D/files/munge.key" /etc/munge/munge.key || return 1
  chown munge:munge /etc/munge /etc/munge/munge.key /var/lib/munge /var/log/munge /run/munge &&
    chmod 700 /etc/munge /var/lib/munge /var/log/munge && chmod 755 /run/munge &&
    chmod 400 /etc/munge/munge.key || return 1
  if [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    kill "$(cat /run/munge/munged.pid)"; sleep 1
  fi
  runuser -u munge -- munged || return 1
  wait_until 15 munge -n -t 10 > /dev/null
}

write_head_files() {
  mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/log/slurm || return 1
  chown slurm:slurm /var/spool/slurmctld /var/log/slurm && chmod 700 /var/spool/slurmctld || return 1
  chmod 644 "$D/files/slurm.conf" && mv -f "$D/files/slurm.conf" "$CONF_DIR/slurm.conf" ||
    return 1
  if grep -q '@HEAD_ADDRESS@' "$CONF_DIR/slurm.conf"; then
    # rendered before the head's address was known: it is this node's
    local me
    me=$(my_address)
    [[ $me =~ $IPV4 ]] || return 1
    sed -i "s/@HEAD_ADDRESS@/$me/g" "$CONF_DIR/slurm.conf" || return 1
  fi
  chown slurm:slurm "$D/files/jwt.key" &&
    mv -f "$D/files/jwt.key" /var/spool/slurmctld/jwt_hs256.key || return 1
  [ -e "$CONF_DIR/cgroup.conf" ] || echo 'CgroupAutomount=no' > "$CONF_DIR/cgroup.conf"
  chmod 644 "$CONF_DIR/cgroup.conf"
}

# Slurm's power-saving programs (slurm_power.sh under three names, as
# slurm.conf names them), readable and runnable by SlurmUser, and the spool
# they leave requests in for the root agent: root:slurm 0730, so SlurmUser
# may add requests but not read them, and no one else may do anything.
POWER_DIR=/opt/pclusterfs/power POWER_SPOOL=/var/spool/pclusterfs/power
install_power() {
  local p
  mkdir -p "$POWER_DIR" /var/spool/pclusterfs || return 1
  chown root:root /opt/pclusterfs "$POWER_DIR" /var/spool/pclusterfs &&
    chmod 755 /opt/pclusterfs "$POWER_DIR" /var/spool/pclusterfs || return 1
  install -m 755 -o root -g root "$D/files/agent/slurm_power.sh" "$POWER_DIR/slurm_power.sh" ||
    return 1
  for p in slurm_resume slurm_suspend slurm_resume_fail; do
    ln -sfn slurm_power.sh "$POWER_DIR/$p" || return 1
  done
  mkdir -p "$POWER_SPOOL" && chown root:slurm "$POWER_SPOOL" && chmod 730 "$POWER_SPOOL"
}

ctld_up() { SLURM_CONF=$CONF_DIR/slurm.conf scontrol ping 2>/dev/null | grep -q 'is UP'; }
start_slurmctld() {
  slurmctld -f "$CONF_DIR/slurm.conf" || return 1
  wait_until 60 ctld_up || { tail -n 20 /var/log/slurm/slurmctld.log; return 1; }
}

# Any HTTP answer (401 without a token) means it serves: slurmrestd listens
# before it answers (22.05 first resolves the listening address's name).
rest_up() { curl -s -o /dev/null --max-time 5 --url http://127.0.0.1:6820/openapi; }
start_slurmrestd() {
  local plugins=openapi/slurmctld user=slurmrestd group f
  # A user of its own, as ParallelCluster's (not nobody): it holds the
  # callers' tokens, which no other user may read from its memory.
  id -u "$user" > /dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir / --shell /bin/false "$user" || return 1
  # Slurm 22.05 (Debian 12) speaks OpenAPI v0.0.38; later ones have openapi/slurmctld.
  for f in "$SLURM"/lib*/slurm*/openapi_v0_0_38.so "$SLURM"/lib*/*/slurm*/openapi_v0_0_38.so; do
    if [ -e "$f" ]; then plugins=openapi/v0.0.38; fi
  done
  group=$(id -gn "$user") || return 1
  # slurmrestd refuses to run as root; SLURM_JWT=daemon makes it pass each
  # caller's token on to slurmctld.
  SLURM_JWT=daemon setsid slurmrestd -f "$CONF_DIR/slurm.conf" -a rest_auth/jwt -s "$plugins" \
    -u "$user" -g "$group" 0.0.0.0:6820 < /dev/null >> /var/log/slurm/slurmrestd.log 2>&1 &
  wait_until 60 rest_up || { tail -n 20 /var/log/slurm/slurmrestd.log; return 1; }
}

# The head's agent, root's alone: its files and config in a 0700 dir, its
# log 0600. One round first (the IMDS's credentials, slurmrestd, the bucket),
# tried for about 30 s: a head whose agent cannot publish fails here, at step
# agent; then the loop, supervised, in a session of its own.
AGENT_DIR=/opt/pclusterfs/agent AGENT_LOG=/var/log/pclusterfs-agent.log
start_agent() {
  local f
  # /opt/pclusterfs holds power/ for SlurmUser too; the agent's dir is root's
  mkdir -p "$AGENT_DIR" && chmod 755 /opt/pclusterfs && chmod 700 "$AGENT_DIR" || return 1
  chown root:root /opt/pclusterfs "$AGENT_DIR" || return 1
  for f in "${AGENT_NAMES[@]}"; do
    chmod 600 "$D/files/agent/$f" && mv -f "$D/files/agent/$f" "$AGENT_DIR/$f" || return 1
  done
  chmod 700 "$AGENT_DIR/agent.sh" &&
    printf '%s\n' "$AGENT_CONFIG" > "$AGENT_DIR/config.json" && chmod 600 "$AGENT_DIR/config.json" ||
    return 1
  : >> "$AGENT_LOG" && chmod 600 "$AGENT_LOG" || return 1
  # a few tries: a new role's credentials may reach the IMDS late
  local try
  for try in 1 2 3 4 5 6; do
    "$AGENT_DIR/agent.sh" "$AGENT_DIR/config.json" --once < /dev/null >> "$AGENT_LOG" 2>&1 &&
      break
    [ $try -lt 6 ] || { tail -n 20 "$AGENT_LOG"; return 1; }
    sleep 5
  done
  setsid "$AGENT_DIR/agent.sh" --supervise "$AGENT_DIR/config.json" \
    < /dev/null >> "$AGENT_LOG" 2>&1 &
}

start_slurmd() {
  local mem actual
  mkdir -p /var/spool/slurmd /var/log/slurm && chmod 755 /var/spool/slurmd || return 1
  # never more memory than the kernel sees, or slurmctld drains the node
  actual=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  mem=$MEMORY_MIB
  [ -n "$actual" ] && [ "$actual" -lt "$mem" ] && mem=$actual
  # slurmd 22.05 gives up at once when slurmctld does not answer, and a
  # compute node may be launched as soon as the head's address is known:
  # try again until the head serves its configuration.
  # slurmd caches the configuration it fetches (conf-cache) with the umask
  # it starts with: users' srun and sbatch on the node must read it, so not
  # the bootstrap's 077.
  local end=$((SECONDS + HEAD_WAIT)) tries=0
  # (A dynamic node attaches to the CLOUD node the head's agent created
  # under its name, keeping the features given there.)
  until (umask 022 && exec slurmd -Z --conf "CPUs=$CPUS RealMemory=$mem" -N "$NODE" \
          --conf-server "$HEAD_ADDRESS") 2> "$D/slurmd.err"; do
    tries=$((tries + 1))
    if [ $((tries % 12)) -eq 1 ]; then
      cat "$D/slurmd.err"
      echo "waiting for slurmctld at $HEAD_ADDRESS"
    fi
    [ $SECONDS -lt $end ] || return 1
    sleep 5
  done
  cat "$D/slurmd.err"
  wait_until 90 node_registered || { tail -n 20 /var/log/slurm/slurmd.log; return 1; }
}
node_registered() {
  local conf
  for conf in /run/slurm/conf/slurm.conf /var/spool/slurmd/conf-cache/slurm.conf; do
    [ -f "$conf" ] || continue
    SLURM_CONF=$conf scontrol -o show node "$NODE" 2>/dev/null |
      grep -q -E "^NodeName=$NODE .* State=(IDLE|MIXED|ALLOCATED|COMPLETING)[+ ]" && return 0
  done
  return 1
}

# ---------- the bootstrap ----------
log "bootstrap of $NODE ($NODE_TYPE) in cluster $CLUSTER"
progress pre
download_all
run_phase pre OnNodeStartExecutionFailure

progress configuring
step hostname set_names
step ssh_key install_ssh_key
step munged start_munge
if [ "$NODE_TYPE" = HeadNode ]; then
  step slurm.conf write_head_files
  if [[ " ${AGENT_NAMES[*]+${AGENT_NAMES[*]}} " == *" slurm_power.sh "* ]]; then
    step power install_power
  fi
  step slurmctld start_slurmctld
  step slurmrestd start_slurmrestd
  [ -z "$AGENT_CONFIG" ] || step agent start_agent
else
  step slurmd start_slurmd
fi
log "Slurm is configured"

progress post
run_phase post OnNodeConfiguredExecutionFailure

STEP=''
progress 'done'
forget_urls
exit 0
