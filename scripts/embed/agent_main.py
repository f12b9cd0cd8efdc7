"""The head node's agent: agent_main.py CONFIG [--once]

Runs as root on the head node with the head's role (credentials from the
IMDS). It publishes Slurm's view through the bucket (agent_publish),
follows the compute fleet's spec, acknowledging what it applied (agent_spec),
carries out node commands from nodes/<n>/ctl (agent_ctl), submits and
cancels the batch jobs of <cluster>/jobs/ as the image's default user
(agent_jobs), takes gone compute nodes out of Slurm (agent_gone) and runs
the dynamic nodes: creates them in Slurm, launches and stops their
instances as Slurm's power saving asks (agent_dynamic). CONFIG is a JSON file (root only):
  cluster, bucket, bucket_owner, region   the cluster and its state bucket
  bucket_region  the bucket's region (default: region)
  endpoint_ec2, endpoint_s3   custom endpoints (default: AWS's, or the
                 AWS_ENDPOINT_URL* variables as the SDKs read them)
  instance_id    the head's (default: the IMDS's answer)
  state_dir      root-only state (default /var/lib/pclusterfs/agent)
  slurmrestd     default http://127.0.0.1:6820
  jwt_key_file   default /var/spool/slurmctld/jwt_hs256.key
  slurm_user     default slurm
  interval       seconds between rounds (default 10)
  busy_interval  seconds between rounds for a while after jobs/ had work (default 2)
  heartbeat      seconds between heartbeats of an unchanged view (default 60)
  scontrol       default /opt/slurm/bin/scontrol, else the one on PATH
  sbatch, scancel  likewise
  job_user       the user jobs run as (default: the first of ec2-user,
                 centos, ubuntu that exists; never root)
  jobs_dir       where scripts wait for sbatch (default
                 /var/spool/pclusterfs/jobs)
  power_spool    where slurm_power.sh leaves Slurm's power requests
                 (default /var/spool/pclusterfs/power)
  userdata_template  compute nodes' user data (default
                 /opt/pclusterfs/agent/userdata.sh.in)
  head_address   the address compute nodes reach slurmctld at (default:
                 slurm.conf's SlurmctldHost address, else the IMDS's)
The IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT, as the SDKs read it. --once runs one round and exits 0 when it published
what it had to. Python 3 standard library only, Python 3.6 syntax.
"""
import json
import os
import sys
import time

# Python 3.11's -I keeps the script's own directory off sys.path: put it back.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import agent_aws  # noqa: E402
import agent_creds  # noqa: E402
import agent_ctl  # noqa: E402
import agent_dynamic  # noqa: E402
import agent_gone  # noqa: E402
import agent_jobs  # noqa: E402
import agent_publish  # noqa: E402
import agent_s3  # noqa: E402
import agent_slurm  # noqa: E402
import agent_spec  # noqa: E402

DEFAULTS = {
    "state_dir": "/var/lib/pclusterfs/agent",
    "slurmrestd": "http://127.0.0.1:6820",
    "jwt_key_file": "/var/spool/slurmctld/jwt_hs256.key",
    "slurm_user": "slurm",
    "interval": 10,
    "busy_interval": 2,
    "heartbeat": 60,
}
REQUIRED = ("cluster", "bucket", "bucket_owner", "region")


def log(msg):
    sys.stderr.write("%s pclusterfs-agent: %s\n" % (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg))
    sys.stderr.flush()


def load_config(path):
    with open(path) as f:
        cfg = json.load(f)
    missing = [k for k in REQUIRED if not cfg.get(k)]
    if missing:
        raise ValueError("%s lacks %s" % (path, ", ".join(missing)))
    out = dict(DEFAULTS)
    out.update(cfg)
    return out


def make_publisher(cfg, credentials=None):
    credentials = credentials or agent_creds.ImdsCredentials()
    instance_id = cfg.get("instance_id") or credentials.instance_id()
    s3_client = agent_aws.Client("s3", cfg.get("bucket_region") or cfg["region"], credentials,
                                 endpoint=cfg.get("endpoint_s3"))
    s3 = agent_s3.S3(s3_client, cfg["bucket"], cfg["bucket_owner"])
    with open(cfg["jwt_key_file"], "rb") as f:
        key = f.read()
    slurm = agent_slurm.Slurmrestd(cfg["slurmrestd"], key, cfg["slurm_user"])
    return agent_publish.Publisher(s3, slurm, cfg["cluster"], instance_id, cfg["state_dir"],
                                   heartbeat=cfg["heartbeat"], log=log)


def make_spec_follower(cfg, publisher):
    """The fleet spec's follower, on the publisher's S3 client and head."""
    return agent_spec.SpecFollower(publisher.s3, cfg["cluster"], cfg["bucket"],
                                   publisher.instance_id, cfg["state_dir"], log=log)


def make_dynamic(cfg, publisher, follower):
    """agent_dynamic's Dynamic on the follower's spec, or None (told) when
    it cannot be made: the other rounds run without it."""
    try:
        return agent_dynamic.make(cfg, publisher.s3, lambda: follower.spec, log)
    except (OSError, ValueError, agent_creds.CredentialsError) as e:
        log("dynamic nodes: cannot start: %s" % e)
        return None


def run_round(name, step):
    """One step of a round; False (logged) when it failed."""
    try:
        step()
        return True
    except (agent_aws.AwsError, agent_creds.CredentialsError, OSError) as e:
        log("%s: %s" % (name, e))
    except Exception as e:   # a surprise (a malformed answer...) must not end the agent
        log("%s: %s: %s" % (name, type(e).__name__, e))
    return False


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--once"):
        sys.stderr.write("usage: agent_main.py CONFIG [--once]\n")
        return 2
    os.umask(0o077)
    try:
        cfg = load_config(argv[1])
        publisher = make_publisher(cfg)
        follower = make_spec_follower(cfg, publisher)
        commands = agent_ctl.make(cfg, publisher.s3, publisher.s3.client.credentials, log)
        jobs = agent_jobs.make(cfg, publisher.s3, log)
        dyn = make_dynamic(cfg, publisher, follower)
    except (OSError, ValueError, agent_creds.CredentialsError) as e:
        log("cannot start: %s" % e)
        return 1
    while True:
        ok = run_round("publishing Slurm's view", publisher.cycle)
        ok = run_round("following the fleet spec", follower.cycle) and ok
        ok = run_round("node commands", commands.cycle) and ok
        ok = run_round("jobs", jobs.cycle) and ok
        if dyn is not None:
            ok = run_round("dynamic nodes", dyn.cycle) and ok
        agent_gone.run_round(cfg, log)   # gone compute nodes out of Slurm (agent_gone.py)
        if len(argv) == 3:
            return 0 if ok else 1
        # while jobs come and go, or dynamic nodes are asked for and boot,
        # rounds come faster: a job's state reaches the bucket, and a
        # resume request EC2, within busy_interval instead of interval
        busy = max(getattr(jobs, "busy_until", 0), getattr(dyn, "busy_until", 0)) > time.time()
        time.sleep(cfg["busy_interval"] if busy else cfg["interval"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
