"""Discovery and active probes in network namespaces: the agent learns example.test's MX hosts
(and their addresses, and the zone's name servers) from a real Knot, judges every target by its
own probes when nothing else talks to them (SMTP dialogue with STARTTLS to a real Postfix, DNS over
UDP and TCP) sent out of the watched interface even where a route points elsewhere, leaves
targets with passive traffic alone, and follows the zone when it changes.
"""
import time
import unittest

import lab as L

PORT = 10071
MX1, MX1_6, MX2, NS2 = "198.18.0.10", "fd00::10", "198.18.0.11", "198.18.0.3"


def zone(serial, mx1_pref=10, mx2_pref=20, mx1_aaaa=True):
    return f"""$ORIGIN example.test.
$TTL 1
@    SOA ns1 hostmaster {serial} 60 60 3600 1
@    NS  ns1
@    NS  ns2
ns1  A   {L.Lab.SERVER4}
ns2  A   {NS2}
@    MX  {mx1_pref} mx1
@    MX  {mx2_pref} mx2
mx1  A   {MX1}
{"mx1  AAAA " + MX1_6 if mx1_aaaa else ""}
mx2  A   {MX2}
"""


class ProbeLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (MX1, MX2, NS2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        srv.run("ip", "addr", "add", f"{MX1_6}/64", "dev", lab.server_if, "nodad")
        lab.start_knot(zone(1), also_listen=(NS2,))
        for a in (f"{MX1}:25", f"[{MX1_6}]:25"):
            lab.start_listener(srv, a, "smtp-sink", "-u", "nobody", a, "100")
        lab.start_postfix(srv, MX2)  # offers STARTTLS
        # A more specific route sends MX2's traffic into a dead end (a veth pair inside the
        # client): only probes pinned to the watched interface still reach it.
        cli = lab.client
        cli.run("ip", "link", "add", "decoy0", "type", "veth", "peer", "name", "decoy1")
        for ifname in ("decoy0", "decoy1"):
            cli.run("ip", "link", "set", ifname, "up")
        cli.run("ip", "route", "add", f"{MX2}/32", "dev", "decoy0")
        cfg = f"{lab.tmp}/agent.yaml"
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: {lab.tmp}/state.json
dns_servers: [{lab.SERVER4}]
verdicts: {{window: 1, rise: 2, fall: 2, hold_down: 0, failback_hold: 3600}}
probes: {{interval: 1, timeout: 0.8, dns_name: example.test, dns_type: SOA, ehlo_name: probe.test}}
discovery: {{resolver: 198.18.0.99, min_refresh: 1, retry: 1}}  # nothing there: falls back
domains:
  - name: example.test
    mx: discover
    authoritative: true
""")
        cls.agent = lab.start_agent_config(lab.client, cfg, PORT)

    def until(self, what, check, seconds=15):
        return self.lab.until_status(self.lab.client, PORT, self.agent, check, seconds, what,
                                     interval=0.3)

    target = staticmethod(L.target)

    def states(self, s):
        return {t["target"]: t["state"] for t in s["targets"]}

    def test_1_discovers_mx_hosts_addresses_and_name_servers(self):
        s = self.until("the zone's MX hosts and name servers as targets",
                       lambda s: s["domains"][0]["mx"] == ["mx1.example.test", "mx2.example.test"]
                       and self.target(s, NS2) is not None)
        self.assertEqual(self.target(s, "mx1.example.test")["addresses"], [MX1, MX1_6])
        self.assertEqual(self.target(s, "mx2.example.test")["addresses"], [MX2])
        self.assertEqual(sorted(t["target"] for t in s["targets"] if t["kind"] == "dns"),
                         [L.Lab.SERVER4, NS2])
        # discovery.resolver does not answer: the judged DNS server took over, and stays first.
        log = self.lab.log(self.agent)
        self.assertEqual(log.count(f"discovery: {L.Lab.SERVER4} answered for example.test; "
                                   "asking it first from now on"), 1, log[-3000:])

    def test_2_idle_targets_are_judged_by_probes_alone(self):
        # Nothing but the agent's probes (and lookups) reaches any target.
        self.until("every target HEALTHY from probes",
                   lambda s: len(s["targets"]) == 4 and
                   set(self.states(s).values()) == {"HEALTHY"})
        m = L.scrape(self.lab.client, PORT)
        for kind, target in (("smtp", MX1), ("smtp", MX1_6), ("smtp", MX2),
                             ("dns_udp", NS2), ("dns_tcp", NS2), ("dns_tcp", L.Lab.SERVER4)):
            self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind=kind, target=target,
                                       result="ok"), 0, (kind, target))
        # The kernel saw the probes' STARTTLS to Postfix (it offers it; smtp-sink does not).
        self.assertGreater(L.value(m, "mxsense_smtp_starttls_total", server=MX2, role="client",
                                   result="started"), 0)
        self.assertEqual(L.value(m, "mxsense_smtp_starttls_total", server=MX1), 0)

        # Probe count against the wire: SYNs to MX1:25 captured on the server's link.
        cap = self.lab.start_capture(self.lab.server, self.lab.server_if,
                                     f"dst host {MX1} and tcp dst port 25 and "
                                     "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn")
        before = L.scrape(self.lab.client, PORT)
        time.sleep(5)  # the scenario: five probe intervals, counted on both sides
        after = L.scrape(self.lab.client, PORT)
        syns = cap.count()  # once tcpdump has written every SYN it took in
        probes = L.delta(before, after, "mxsense_probe_runs_total", kind="smtp", target=MX1)
        self.assertGreaterEqual(probes, 3)
        self.assertLessEqual(abs(syns - probes), 1, (syns, probes))

        # MX2 starts refusing: DOWN from probes alone, and back.
        reject = ["INPUT", "-p", "tcp", "-d", MX2, "--dport", "25", "-j", "REJECT",
                  "--reject-with", "tcp-reset"]
        self.lab.server.run("iptables", "-A", *reject)
        try:
            self.until("mx2 DOWN by probes",
                       lambda s: self.target(s, "mx2.example.test")["state"] == "DOWN")
            m = L.scrape(self.lab.client, PORT)
            self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind="smtp", target=MX2,
                                       result="refused"), 0)
        finally:
            self.lab.server.run("iptables", "-D", *reject)
        self.until("mx2 HEALTHY again",
                   lambda s: self.target(s, "mx2.example.test")["state"] == "HEALTHY")

    def test_3_targets_with_passive_traffic_are_not_probed(self):
        before = L.scrape(self.lab.client, PORT)
        end = time.time() + 5
        while time.time() < end:
            self.lab.client.run("smtp-source", "-m", "2", f"{MX1}:25", timeout=10)
        after = L.scrape(self.lab.client, PORT)
        busy = L.delta(before, after, "mxsense_probe_skipped_total", kind="mx", target=MX1)
        idle = L.delta(before, after, "mxsense_probe_skipped_total", kind="mx", target=MX1_6)
        self.assertGreaterEqual(busy, 2)
        self.assertEqual(idle, 0)
        self.assertGreater(L.delta(before, after, "mxsense_probe_runs_total", kind="smtp",
                                   target=MX1_6), 2)

    def test_4_follows_the_zone_when_it_changes(self):
        self.until("first lookups done", lambda s: len(s["targets"]) == 4)
        self.lab.reload_knot(zone(2, mx1_pref=30, mx1_aaaa=False))
        try:
            s = self.until("MX order and addresses from the new zone",
                           lambda s: s["domains"][0]["mx"] == ["mx2.example.test",
                                                               "mx1.example.test"]
                           and self.target(s, "mx1.example.test")["addresses"] == [MX1])
            # mx2 kept its verdict through the change (same name, same target).
            self.assertNotEqual(self.target(s, "mx2.example.test")["state"], "UNKNOWN")
        finally:
            self.lab.reload_knot(zone(3))


if __name__ == "__main__":
    unittest.main()
