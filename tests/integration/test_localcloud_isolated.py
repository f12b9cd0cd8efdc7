"""Isolated mode: the host (a workstation outside the VPC) cannot open a
connection to any instance, while instances reach the endpoint and each
other. The same test without isolation shows the host reaching the port, so
the refusal is the isolation's doing."""
import socket

import pytest

LISTEN_USER_DATA = """#!/bin/bash
setsid python3 -m http.server 8080 --bind 0.0.0.0 --directory / >/dev/null 2>&1 &
for i in $(seq 1 50); do
  curl -s -o /dev/null http://127.0.0.1:8080/ && break
  sleep 0.1
done
echo LISTENING
"""


def host_connects(ip, port):
    try:
        with socket.create_connection((ip, port), timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.boot
@pytest.mark.parametrize("isolated", [True, False])
def test_host_cannot_reach_instances_in_isolated_mode(localcloud_factory, isolated):
    lc = localcloud_factory(boot=True, isolated=isolated)
    ec2 = lc.client("ec2")
    got = ec2.run_instances(ImageId=lc.image_id(), InstanceType="t2.micro", MinCount=2,
                            MaxCount=2, UserData=LISTEN_USER_DATA)["Instances"]
    (a, a_ip), (b, _) = [(i["InstanceId"], i["PrivateIpAddress"]) for i in got]
    for iid in (a, b):
        lc.wait_console(iid, "LISTENING", timeout=60)
    # instances reach the endpoint and each other
    r = lc.in_instance(a, "curl -sf -m 5 $(cat /run/localcloud/endpoint)/_localcloud/health")
    assert r.returncode == 0 and r.stdout == "ok\n", r
    r = lc.in_instance(b, "curl -s -m 5 -o /dev/null -w %%{http_code} http://%s:8080/" % a_ip)
    assert r.stdout == "200", r
    # the host does not, when isolated
    assert host_connects(a_ip, 8080) == (not isolated)
