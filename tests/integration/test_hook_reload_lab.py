"""A reload (SIGHUP) while a hook runs, end to end in network namespaces (issue 12).

Two MX hosts (smtp-sink) with SMTP load to both and a real Knot as the DNS target; the primary
starts refusing (its SMTP port resets connections), the agent fails over and its hook starts: it
writes "start", sleeps 4 s and writes "end". While it sleeps the agent gets SIGHUP with a
changed file (a hook added, the failback hold changed). Checked: every target keeps its verdict
and last transition through the reload (status API before and after), the hook finishes (its
"end" is written) and is reported once, as a success; when the fault ends, the failback the
hook is configured for is refused by the cooldown the run started before the reload.
"""
import os
import signal
import time
import unittest

import lab as L

MX1, MX2 = "198.18.0.10", "198.18.0.11"
PORT = 10091
REJECT = ["INPUT", "-p", "tcp", "-d", MX1, "--dport", "25", "-j", "REJECT", "--reject-with",
          "tcp-reset"]
ZONE = f"""$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 60 60 3600 300
@    NS  ns1
ns1  A   {L.Lab.SERVER4}
"""


class HookReloadLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
        lab.start_knot(ZONE)
        cls.out = os.path.join(lab.tmp, "hook.out")
        cls.cfg = os.path.join(lab.tmp, "agent.yaml")
        cls.write_config(failback_hold=3)
        cls.agent = lab.start_agent_config(lab.client, cls.cfg, PORT)
        for a in (MX1, MX2):
            lab.start_smtp_load(lab.client, a, 120, interval=0.1)

    @classmethod
    def write_config(cls, failback_hold, extra_hooks=""):
        with open(cls.cfg, "w") as f:
            f.write(f"""interfaces: [{cls.lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: {cls.lab.tmp}/state.json
dns_servers: [{L.Lab.SERVER4}]
probes: {{interval: 1, timeout: 0.5,
          targets: [{{address: {L.Lab.SERVER4}, role: authoritative, name: example.test}}]}}
verdicts: {{window: 1, rise: 2, fall: 2, hold_down: 2, failback_hold: {failback_hold}}}
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
hooks:
  - name: switch
    events: [domain_failover, domain_failback]
    argv: [/bin/sh, -c, 'echo start $MXSENSE_EVENT >> {cls.out}; sleep 4;
                         echo end $MXSENSE_EVENT >> {cls.out}']
    timeout: 30
    cooldown: 300
{extra_hooks}""")

    def lines(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return f.read().splitlines()

    def until(self, what, check, seconds):
        return self.lab.until_status(self.lab.client, PORT, self.agent, check, seconds, what)

    def metrics_until(self, what, check, seconds):
        def met():
            m = L.scrape(self.lab.client, PORT)
            return m if check(m) else None
        return L.until(met, seconds, what, interval=0.2,
                       detail=lambda: self.lab.log(self.agent)[-4000:])

    @staticmethod
    def verdicts(doc):
        """Per target: its state and last transition (what a reload must keep)."""
        return {t["target"]: (t["state"], t.get("last_transition")) for t in doc["targets"]}

    def test_sighup_while_a_hook_runs(self):
        lab = self.lab
        self.until("every target HEALTHY",
                   lambda s: len(s["targets"]) == 3
                   and all(t["state"] == "HEALTHY" for t in s["targets"]), 20)
        lab.server.run("iptables", "-A", *REJECT)
        try:
            L.until(lambda: "start domain_failover" in self.lines(), 20,
                    "the failover hook started", interval=0.1,
                    detail=lambda: lab.log(self.agent)[-4000:])
            before = L.status(lab.client, PORT)
            self.assertNotIn("end domain_failover", self.lines())  # it is still running
            self.assertEqual(L.target(before, "mx1.example.test")["state"], "DOWN")
            self.assertTrue(before["domains"][0]["failover_active"])

            # A changed file: a hook added, the failback hold shorter; the running hook as it was.
            self.write_config(failback_hold=2, extra_hooks=f"""  - name: note
    events: [target_up]
    argv: [/bin/true]
""")
            os.kill(self.agent.pid, signal.SIGHUP)
            self.metrics_until("the agent reloaded",
                               lambda m: L.value(m, "mxsense_config_reloads_total") == 1, 5)
            after = L.status(lab.client, PORT)
            # Unchanged targets keep their verdicts (the fault goes on: nothing may change).
            self.assertEqual(self.verdicts(after), self.verdicts(before))
            self.assertEqual(after["domains"], before["domains"])
            self.assertNotIn("end domain_failover", self.lines())  # the reload came mid-run

            L.until(lambda: "end domain_failover" in self.lines(), 10,
                    "the hook finished its run after the reload", interval=0.1,
                    detail=lambda: f"{self.lines()}\n{lab.log(self.agent)[-4000:]}")
            m = self.metrics_until("the run reported",
                                   lambda m: L.value(m, "mxsense_hook_runs_total", hook="switch",
                                                     event="domain_failover") >= 1, 5)
            self.assertEqual(L.value(m, "mxsense_hook_runs_total", hook="switch",
                                     event="domain_failover", result="success"), 1)
            self.assertEqual(L.value(m, "mxsense_hook_runs_total", hook="switch",
                                     event="domain_failover"), 1)  # no timeout, failure, error
        finally:
            lab.server.run("iptables", "-D", *REJECT, check=False)

        # The fault ends: the failback is due, but the cooldown of the run before the reload
        # (300 s) refuses it.
        self.metrics_until("the failback refused by the cooldown",
                           lambda m: L.value(m, "mxsense_hook_runs_total", hook="switch",
                                             event="domain_failback", result="cooldown") >= 1,
                           20)
        self.assertEqual(self.lines(), ["start domain_failover", "end domain_failover"])
        doc = L.status(lab.client, PORT)
        runs = [(r["hook"], r["event"], r["result"]) for r in doc["recent_hook_runs"]
                if r["result"] not in ("cooldown", "busy")]
        # The one run, and the hook the reload added (mx1 back up) ran too.
        self.assertEqual(runs, [("switch", "domain_failover", "success"),
                                ("note", "target_up", "success")])
        self.assertEqual(lab.children(self.agent), [])  # no hook process left


if __name__ == "__main__":
    unittest.main()
