"""Host-side nftables rules of one local cloud (rules in the host's network
namespace, which an instance's root cannot reach):

- table bridge lc_<bridge>: a frame entering the bridge from an instance's
  veth must carry that instance's address (IPv4 source, ARP sender), so the
  IMDS, which knows instances by source address, cannot be asked by one
  instance as another. The pins are a set of (veth, address); the ports set
  names this cloud's veths (this kernel's nft lacks meta ibrname). No IPv6
  frame enters or leaves an instance (the VPC has no IPv6 CIDR, and the
  security groups below are IPv4 rules).
- table inet lc_<bridge>: the security groups. A packet to an instance
  address (set guarded), bridged from another instance (the bridge passes
  IPv4 to the inet hooks, with conntrack) or sent by the host, goes through
  chain ingress: replies to flows the instance opened pass, then the rules
  set_ingress writes from its groups, else it is dropped. The host's own
  address is the source CIDR rules match for what the host sends.
  In isolated mode, also: the host opens no connection to any address of
  the VPC (new outgoing flows through the bridge are dropped; replies to
  instances calling the endpoint pass).

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
    iifname @ports ether type ip6 drop
  }
  chain no_ip6_in {
    type filter hook forward priority 0; policy accept;
    oifname @ports ether type ip6 drop
  }
  chain no_ip6_from_host {
    type filter hook output priority 0; policy accept;
    oifname @ports ether type ip6 drop
  }
}
table inet %(t)s {
  set guarded { type ipv4_addr; }
  chain ingress { drop; }
  chain bridged {
    type filter hook forward priority 0; policy accept;
    ip daddr @guarded jump ingress
  }
  chain from_host {
    type filter hook output priority 0; policy accept;
    ip daddr @guarded jump ingress
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


def _match(proto, lo, hi):
    if proto == "-1":
        return ""
    if proto in ("tcp", "udp"):
        return "%s dport %d-%d " % (proto, lo, hi)
    if proto == "icmp":
        return "icmp type %d " % lo if lo != -1 else "ip protocol icmp "
    return "ip protocol %s " % proto


def set_ingress(net, addresses, rules):
    """Replaces, in one transaction, the guarded addresses and what may reach
    them. rules: (address, proto, from, to, [source CIDRs]) as
    secgroups.ingress_rules gives them."""
    import ipaddress
    t = table(net)
    lines = ["flush set inet %s guarded" % t, "flush chain inet %s ingress" % t]
    if addresses:
        lines.append("add element inet %s guarded { %s }" % (t, ", ".join(sorted(addresses))))
    lines.append("add rule inet %s ingress ct state established,related accept" % t)
    for addr, proto, lo, hi, sources in rules:
        # overlapping prefixes are an error in an nft set: merge them first
        merged = ipaddress.collapse_addresses(ipaddress.ip_network(s) for s in sources)
        lines.append("add rule inet %s ingress ip daddr %s ip saddr { %s } %saccept" % (
            t, addr, ", ".join(str(n) for n in merged), _match(proto, lo, hi)))
    lines.append("add rule inet %s ingress drop" % t)
    nft("\n".join(lines) + "\n")


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
