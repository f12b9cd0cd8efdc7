"""Host-side nftables rules of one local cloud (rules in the host's network
namespace, which an instance's root cannot reach):

- table bridge lc_<bridge>: a frame entering the bridge from an instance's
  veth must carry that instance's address (IPv4 source, ARP sender), so the
  IMDS, which knows instances by source address, cannot be asked by one
  instance as another. The pins are a set of (veth, address); the ports set
  names this cloud's veths (this kernel's nft lacks meta ibrname).
- table inet lc_<bridge> (isolated mode only): the host opens no connection
  to any address of the VPC (new outgoing flows through the bridge are
  dropped; replies to instances calling the endpoint pass).

Tables are replaced whole at start and deleted at teardown."""
import subprocess


def table(net):
    return "lc_" + net.bridge.replace("-", "_")


def nft(script, check=True):
    r = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("nft: %s\n%s" % (r.stderr.strip(), script))
    return r


def _drop_tables(net):
    t = table(net)
    # "add" then "delete" deletes whether or not the table existed.
    return ("add table bridge %s\ndelete table bridge %s\n"
            "add table inet %s\ndelete table inet %s\n" % (t, t, t, t))


def setup(net, isolated):
    t = table(net)
    script = _drop_tables(net) + """
table bridge %(t)s {
  set ports { type ifname; }
  set pins { type ifname . ipv4_addr; }
  chain pin {
    type filter hook prerouting priority -200; policy accept;
    iifname @ports ether type ip iifname . ip saddr != @pins drop
    iifname @ports ether type arp iifname . arp saddr ip != @pins drop
  }
}
""" % {"t": t}
    if isolated:
        script += """
table inet %(t)s {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "%(br)s" ip daddr %(vpc)s ct state new drop
  }
}
""" % {"t": t, "br": net.bridge, "vpc": net.vpc}
    nft(script)


def teardown(net):
    nft(_drop_tables(net), check=False)


def pin(net, veth, address):
    t = table(net)
    nft("add element bridge %s pins { \"%s\" . %s }\nadd element bridge %s ports { \"%s\" }\n"
        % (t, veth, address, t, veth))


def unpin(net, veth, address):
    t = table(net)
    nft("delete element bridge %s ports { \"%s\" }\ndelete element bridge %s pins "
        "{ \"%s\" . %s }\n" % (t, veth, t, veth, address), check=False)
