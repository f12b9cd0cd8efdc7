"""Config texts the integration tests share."""

# The ParallelCluster 101 guide's config: refused (no [vpc public] section).
GUIDE = """[aws]
aws_region_name = ap-northeast-1

[cluster default]
key_name = lab-3-your-key
vpc_settings = public
base_os = alinux2
scheduler = slurm
"""

VPC_PUBLIC = """
[vpc public]
vpc_id = vpc-0123456789abcdef0
master_subnet_id = subnet-0123456789abcdef0
"""

# The guide's config made whole: passes every check that needs no cloud.
GOOD = GUIDE + VPC_PUBLIC


def with_queue_size(text, initial, maximum=10):
    return text.replace(
        "scheduler = slurm\n",
        f"scheduler = slurm\ninitial_queue_size = {initial}\nmax_queue_size = {maximum}\n",
    )
