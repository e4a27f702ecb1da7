"""Verdicts a new user can trust (issue 10), with real servers in network namespaces.

DefaultConfigLab: the agent with default probe and verdict settings (no `probes` section, no
`dns_name`), its resolver from resolv.conf (a real BIND resolver), one domain with
`authoritative: true` whose name servers are a real Knot and a real BIND: with no traffic but the
probes, every target is HEALTHY within 60 s. On the wire (tcpdump), the name servers are asked
their zone's SOA without recursion and the resolver recursively.

TransportLab: a resolver that stops taking TCP (an nftables rule answering SYNs to port 53 with
RST) is DEGRADED with a reason naming TCP, not DOWN; one that drops everything is DOWN with a
reason naming timeouts. The reasons are checked in the status API, `mxsense status`, the status
page and a hook's MXSENSE_REASON; the probe's "refused" count equals the RSTs on the wire.
"""
import os
import re
import signal
import time
import unittest

import lab as L

RES, NS2, MX1, MX2 = "198.18.0.53", "198.18.0.3", "198.18.0.10", "198.18.0.11"
RES_DEAD = "198.18.0.54"


def zone(ns2=NS2):
    return f"""$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 60 60 3600 300
@    NS  ns1
@    NS  ns2
ns1  A   {L.Lab.SERVER4}
ns2  A   {ns2}
@    MX  10 mx1
@    MX  20 mx2
mx1  A   {MX1}
mx2  A   {MX2}
"""


class VerdictLabBase(unittest.TestCase):
    PORT = 0

    def until(self, what, check, seconds):
        return self.lab.until_status(self.lab.client, self.PORT, self.agent, check, seconds, what)

    target = staticmethod(L.target)


class DefaultConfigLab(VerdictLabBase):
    PORT = 10081

    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (NS2, RES, MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        lab.start_knot(zone())
        lab.start_bind(NS2, zone_text=zone(), key_file=lab.tsig_key())
        lab.start_bind_resolver(RES, "example.test", [lab.SERVER4, NS2])
        for a in (MX1, MX2):
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
        lab.resolv_conf(lab.client, RES)  # the agent's resolver, as on a real host
        # Every query the client sends over UDP, as tcpdump reads it (RD shows as '+').
        cls.capture = os.path.join(lab.tmp, "dns.pcap")
        cls.tcpdump = lab.start_tcpdump(srv, lab.server_if, cls.capture,
                                        f"src host {lab.CLIENT4} and udp dst port 53")
        cfg = os.path.join(lab.tmp, "agent.yaml")
        # Only where the agent listens and what it watches; probes and verdicts as shipped. The
        # audit, which asks questions of its own (test_audit_lab), is off: the wire check below
        # is of the probes' questions.
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{cls.PORT}
state_file: {lab.tmp}/state.json
audit: {{interval: 0}}
domains:
  - name: example.test
    authoritative: true
""")
        cls.started = time.time()
        cls.agent = lab.start_agent_config(lab.client, cfg, cls.PORT)

    def test_every_target_healthy_within_60_s(self):
        want = {RES, L.Lab.SERVER4, NS2, "mx1.example.test", "mx2.example.test"}
        s = self.until("every target (resolver, both name servers, both MX hosts) HEALTHY",
                       lambda s: {t["target"] for t in s["targets"]} == want and
                       all(t["state"] == "HEALTHY" for t in s["targets"]),
                       seconds=60 - (time.time() - self.started))
        print(f"\nall {len(want)} targets HEALTHY after {time.time() - self.started:.0f} s")
        self.assertEqual(self.target(s, RES)["role"], "resolver")
        for ns in (L.Lab.SERVER4, NS2):
            t = self.target(s, ns)
            self.assertEqual(t["role"], "authoritative for example.test")
            self.assertRegex(t["reason"], r"^tcp ok, p99 [\d.]+ ms; udp ok, p99 [\d.]+ ms$")
        m = L.scrape(self.lab.client, self.PORT)
        for ns in (L.Lab.SERVER4, NS2):
            for kind in ("dns_udp", "dns_tcp"):
                self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind=kind, target=ns,
                                           result="ok"), 0, (kind, ns))
                self.assertEqual(L.value(m, "mxsense_probe_runs_total", kind=kind, target=ns) -
                                 L.value(m, "mxsense_probe_runs_total", kind=kind, target=ns,
                                         result="ok"), 0, (kind, ns))
            self.assertEqual(L.value(m, "mxsense_dns_responses_total", server=ns,
                                     rcode="REFUSED"), 0, ns)
        # The wire: the name servers were asked their zone's SOA with RD clear, the resolver
        # with RD set (tcpdump prints '+' after the id when RD is set).
        self.lab.stop(self.tcpdump, signal.SIGINT)
        lines = L.run("tcpdump", "-nn", "-r", self.capture, check=False).stdout.splitlines()
        to = lambda addr: [ln for ln in lines if f" > {addr}.53: " in ln]
        for ns in (L.Lab.SERVER4, NS2):
            asked = to(ns)
            self.assertTrue(asked, ns)
            for ln in asked:
                self.assertRegex(ln, r": \d+ (\[1au\] )?SOA\? example\.test\. ", ln)
        asked = to(RES)
        self.assertTrue(asked)
        for ln in asked:
            self.assertRegex(ln, r": \d+\+ ", ln)
        self.assertTrue(any(re.search(r"\+ (\[1au\] )?MX\? example\.test\. ", ln)
                            for ln in asked), asked)


class TransportLab(VerdictLabBase):
    PORT = 10082

    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (RES, RES_DEAD, MX1):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        lab.start_knot(zone())
        lab.start_bind_resolver(RES, "example.test", [lab.SERVER4])
        lab.start_bind_resolver(RES_DEAD, "example.test", [lab.SERVER4])
        lab.start_listener(srv, f"{MX1}:25", "smtp-sink", "-u", "nobody", f"{MX1}:25", "100")
        srv.run("nft", "add", "table", "inet", "vdlab")
        srv.run("nft", "add", "chain", "inet", "vdlab", "input",
                "{ type filter hook input priority 0; policy accept; }")
        cls.hook_out = os.path.join(lab.tmp, "hook.out")
        cfg = os.path.join(lab.tmp, "agent.yaml")
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{cls.PORT}
state_file: {lab.tmp}/state.json
dns: {{timeout: 1}}
dns_servers: [{RES}, {RES_DEAD}]
verdicts: {{window: 2, rise: 2, fall: 2, hold_down: 0}}
probes: {{interval: 2, timeout: 1}}
domains:
  - name: example.test
    mx: [{{host: mx1.example.test, addresses: [{MX1}]}}]
hooks:
  - name: record
    events: [target_down]
    argv: [/bin/sh, -c, 'env | grep ^MXSENSE_ | sort >> {cls.hook_out}; echo --- >> {cls.hook_out}']
    cooldown: 0
""")
        cls.agent = lab.start_agent_config(lab.client, cfg, cls.PORT)

    def nft(self, *rule):
        self.lab.server.run("nft", "add", "rule", "inet", "vdlab", "input", *rule)

    def hook_runs(self):
        if not os.path.exists(self.hook_out):
            return []
        with open(self.hook_out) as f:
            return [block.strip().splitlines() for block in f.read().split("---") if block.strip()]

    def test_tcp_refused_is_degraded_and_silence_is_down(self):
        self.until("both resolvers HEALTHY",
                   lambda s: all(self.target(s, a)["state"] == "HEALTHY"
                                 for a in (RES, RES_DEAD)), seconds=30)
        # (b) RES stops taking TCP: SYNs to its port 53 answered with RST.
        self.nft("ip", "daddr", RES, "tcp", "dport", "53", "reject", "with", "tcp", "reset")
        s = self.until("RES DEGRADED", lambda s: self.target(s, RES)["state"] == "DEGRADED",
                       seconds=30)
        t = self.target(s, RES)
        self.assertRegex(t["reason"], r"^tcp: (\d+)/\1 connections refused; udp ok, p99 [\d.]+ ms$")
        self.assertEqual(t["transports"]["tcp"]["state"], "DOWN")
        self.assertEqual(t["transports"]["udp"]["state"], "HEALTHY")
        self.assertEqual(s["recent_transitions"][-1]["target"], RES)
        self.assertEqual(s["recent_transitions"][-1]["to"], "DEGRADED")
        self.assertRegex(s["recent_transitions"][-1]["reason"], r"^tcp: \d+/\d+ connections refused")
        # The probe's cause against the wire: its 'refused' runs are the RSTs RES sent.
        cap = self.lab.start_capture(self.lab.server, self.lab.server_if,
                                     f"src host {RES} and tcp src port 53 and "
                                     "tcp[tcpflags] & tcp-rst != 0")
        before = L.scrape(self.lab.client, self.PORT)
        time.sleep(6)  # the scenario: three probe intervals of RSTs, counted on both sides
        after = L.scrape(self.lab.client, self.PORT)
        rsts = cap.count()  # once tcpdump has written every RST it took in
        refused = L.delta(before, after, "mxsense_probe_runs_total", kind="dns_tcp", target=RES,
                          result="refused")
        self.assertGreaterEqual(refused, 2)
        self.assertLessEqual(abs(rsts - refused), 1, (rsts, refused))
        # The views: `mxsense status` and the page carry the same sentence.
        table = self.lab.client.run(L.MXSENSE, "status", "--agent",
                                    f"127.0.0.1:{self.PORT}").stdout
        self.assertRegex(table, rf"{re.escape(RES)}\s+dns\s+DEGRADED")
        self.assertRegex(table, r"resolver\s+tcp: \d+/\d+ connections refused; udp ok")
        page = self.lab.client.run("curl", "-sf", f"http://127.0.0.1:{self.PORT}/").stdout
        self.assertRegex(page, r'<td class="reason">tcp: \d+/\d+ connections refused; udp ok')

        # (c) RES_DEAD drops everything: DOWN, and the hook hears why.
        self.nft("ip", "daddr", RES_DEAD, "drop")
        s = self.until("RES_DEAD DOWN", lambda s: self.target(s, RES_DEAD)["state"] == "DOWN",
                       seconds=30)
        reason = self.target(s, RES_DEAD)["reason"]
        self.assertRegex(reason, r"udp: (\d+)/\1 queries unanswered \(timeouts\)")
        self.assertRegex(reason, r"tcp: (\d+)/\1 connections timed out")
        self.assertEqual(self.target(s, RES)["state"], "DEGRADED")  # still: not DOWN
        L.until(lambda: self.hook_runs() and not self.lab.children(self.agent), 10,
                "the target_down hook has run and ended", interval=0.2,
                detail=lambda: self.lab.log(self.agent)[-4000:])
        runs = self.hook_runs()
        self.assertEqual(len(runs), 1, runs)
        env = dict(line.split("=", 1) for line in runs[0])
        self.assertEqual(env["MXSENSE_EVENT"], "target_down")
        self.assertEqual(env["MXSENSE_TARGET"], RES_DEAD)
        self.assertRegex(env["MXSENSE_REASON"], r"udp: (\d+)/\1 queries unanswered \(timeouts\)")
        self.assertRegex(env["MXSENSE_REASON"], r"tcp: (\d+)/\1 connections timed out")
        m = L.scrape(self.lab.client, self.PORT)
        self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind="dns_tcp",
                                   target=RES_DEAD, result="timeout"), 0)
        self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind="dns_udp",
                                   target=RES_DEAD, result="timeout"), 0)


if __name__ == "__main__":
    unittest.main()
