"""What operators look at, against the real thing: a real Prometheus scrapes the agent in the
namespace lab while DNS and SMTP traffic and a fault run; every recording rule and every
dashboard query returns data through Prometheus's HTTP API, and the expected alerts fire and
resolve. A real Alertmanager delivers the quorum alert to the agent's webhook, which runs the
switchover hook once; wrong or missing tokens are refused, duplicates run nothing. The status
page is rendered by headless Chromium (screenshot kept in the build tree).
"""
import json
import os
import re
import time
import unittest
import urllib.parse

import lab as L

HERE = os.path.dirname(os.path.abspath(__file__))
PROM_DIR = os.path.join(HERE, "..", "..", "prometheus")
DASHBOARD = os.path.join(HERE, "..", "..", "dashboards", "mxsense.json")
ARTIFACTS = os.path.join(L.BUILD, "test-artifacts")
MX1, MX2 = "198.18.0.10", "198.18.0.11"
AGENT, PROM, AM = 10073, 19090, 19093
TOKEN = "lab-token-0123456789abcdef"
JOB = "mail-sensors"
RUNBOOKS = "https://runbooks.example.net/mxsense/alerts"
ZONE = f"""$ORIGIN example.test.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
ns1  A   {L.Lab.SERVER4}
@    MX  10 mx1
@    MX  20 mx2
mx1  A   {MX1}
mx2  A   {MX2}
"""
REJECT = ["INPUT", "-p", "tcp", "-d", MX1, "--dport", "25", "-j", "REJECT", "--reject-with",
          "tcp-reset"]


def scaled_rules(text, quorum=None):
    """The shipped rules on a lab clock: every [Nm] window 20 s, every `for:` 2 s."""
    text = re.sub(r"\[\d+m\]", "[20s]", text)
    text = re.sub(r"for: \d+m", "for: 2s", text)
    if quorum is not None:  # one agent in the lab: a quorum of one
        text = text.replace(">= 2", f">= {quorum}")
    return text


class ViewsLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv, cli = cls.lab, cls.lab.server, cls.lab.client
        for a in (MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
        lab.start_knot(ZONE)
        t = lab.tmp
        with open(f"{t}/webhook.token", "w") as f:
            f.write(TOKEN + "\n")
        cls.hook_out = f"{t}/webhook-hook.out"
        with open(f"{t}/agent.yaml", "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{AGENT}
state_file: {t}/state.json
dns_servers: [{lab.SERVER4}]
verdicts: {{window: 1, rise: 2, fall: 2, hold_down: 2, failback_hold: 3}}
probes: {{interval: 1, timeout: 0.8, dns_name: example.test, dns_type: SOA}}
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
hooks:
  - name: local
    events: [domain_failover, domain_failback]
    argv: [/bin/true]
    cooldown: 0
  - name: switch
    events: []
    argv: [/bin/sh, -c, 'echo "$MXSENSE_EVENT $MXSENSE_DOMAIN $MXSENSE_FROM $MXSENSE_TO" >> {cls.hook_out}']
    cooldown: 0
webhook: {{enabled: true, token_file: {t}/webhook.token, hook: switch}}
""")
        cls.agent = lab.start_agent_config(cli, f"{t}/agent.yaml", AGENT)
        # Prometheus with the shipped rules on the lab clock, Alertmanager routing the quorum
        # alert to the webhook.
        for name, quorum in (("mxsense.rules.yml", None), ("mxsense-quorum.rules.yml", 1)):
            with open(os.path.join(PROM_DIR, name)) as f, open(f"{t}/{name}", "w") as g:
                g.write(scaled_rules(f.read(), quorum))
        with open(f"{t}/prometheus.yml", "w") as f:
            # The operator's own job name (the rules select none) and runbook base.
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels: {{mxsense_runbook_base: "{RUNBOOKS}"}}
rule_files: [{t}/mxsense.rules.yml, {t}/mxsense-quorum.rules.yml]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{AM}"]}}]}}]
scrape_configs:
  - job_name: {JOB}
    static_configs: [{{targets: ["127.0.0.1:{AGENT}"]}}]
""")
        with open(f"{PROM_DIR}/alertmanager.example.yml") as f:
            am = f.read()
        am = am.replace("http://mail-gw-1.example.net:10053", f"http://127.0.0.1:{AGENT}")
        am = am.replace("/etc/alertmanager/mxsense-webhook.token", f"{t}/webhook.token")
        am = am.replace("group_interval: 1m", "group_interval: 1s")
        with open(f"{t}/alertmanager.yml", "w") as f:
            f.write(am)
        lab.start(cli, "prometheus-alertmanager",
                  f"--config.file={t}/alertmanager.yml", f"--storage.path={t}/am",
                  f"--web.listen-address=127.0.0.1:{AM}", "--cluster.listen-address=",
                  ready=lambda: cls.get(f"http://127.0.0.1:{AM}/-/ready"))
        lab.start(cli, "prometheus", f"--config.file={t}/prometheus.yml",
                  f"--storage.tsdb.path={t}/prom", f"--web.listen-address=127.0.0.1:{PROM}",
                  ready=lambda: cls.get(f"http://127.0.0.1:{PROM}/-/ready"))
        with open(f"{t}/queries.txt", "w") as f:
            f.write("example.test SOA\nexample.test MX\nmx1.example.test A\n")
        with open(f"{t}/refused.txt", "w") as f:
            f.write("elsewhere.test A\n")  # not Knot's zone: REFUSED
        lab.start(cli, "dnsperf", "-s", lab.SERVER4, "-d", f"{t}/queries.txt", "-l", "300",
                  "-Q", "20")
        lab.start_smtp_load(cli, MX1, 300, interval=0.1)
        lab.start_smtp_load(cli, MX2, 300, interval=0.5)
        cls.start = time.time()

    # ---- helpers -------------------------------------------------------------

    @classmethod
    def get(cls, url, **kw):
        r = cls.lab.client.run("curl", "-sf", "-m", "5", url, check=False, **kw)
        return r.stdout if r.returncode == 0 else None

    def prom(self, path, **params):
        out = self.get(f"http://127.0.0.1:{PROM}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        self.assertIsNotNone(out, path)
        doc = json.loads(out)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]

    def firing(self):
        return {(a["labels"]["alertname"], a["labels"].get("server") or
                 a["labels"].get("target") or a["labels"].get("domain") or "")
                for a in self.prom("alerts")["alerts"] if a["state"] == "firing"}

    def until(self, what, check, seconds=60):
        def detail():
            log = "\n".join(line for line in self.lab.log(self.agent).splitlines()
                            if "webhook" in line or "hook" in line)
            return f"firing: {sorted(self.firing())}\n{log}"
        return L.until(check, seconds, what, interval=0.5, detail=detail)

    def hooks_ended(self, lines):
        """At least `lines` hook output lines, and no hook of the agent's still running: every
        run a delivery started (synchronously, before its answer) has ended."""
        return len(self.hook_lines()) >= lines and not self.lab.children(self.agent)

    def post(self, body, token=TOKEN):
        args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "-X", "POST",
                "-H", "Content-Type: application/json", "--data-binary", body]
        if token is not None:
            args += ["-H", f"Authorization: Bearer {token}"]
        return self.lab.client.run(*args, f"http://127.0.0.1:{AGENT}/api/v1/alertmanager",
                                   check=False).stdout

    def hook_lines(self):
        if not os.path.exists(self.hook_out):
            return []
        with open(self.hook_out) as f:
            return f.read().splitlines()

    @staticmethod
    def alert(status, target="mx1.example.test", name="MxsenseMxHostDownQuorum"):
        return json.dumps({"version": "4", "status": status, "receiver": "mxsense-switchover",
                           "alerts": [{"status": status, "labels": {
                               "alertname": name, "target": target, "kind": "mx"}}]})

    # ---- the tests (one lab, in order) ------------------------------------------

    def test_1_webhook_tokens_and_duplicates(self):
        def both_healthy():  # a failover needs a HEALTHY backup
            s = L.status(self.lab.client, AGENT)
            return s and s["domains"][0]["effective_mx"] == "mx1.example.test" and all(
                (L.target(s, t) or {}).get("state") == "HEALTHY"
                for t in ("mx1.example.test", "mx2.example.test"))
        self.until("both MX hosts HEALTHY", both_healthy)
        self.assertEqual(self.post(self.alert("firing"), token=None), "401")
        self.assertEqual(self.post(self.alert("firing"), token="wrong-token-0123456789"), "401")
        self.assertEqual(self.post("{not json"), "400")
        self.assertEqual(self.hook_lines(), [])
        self.assertEqual(self.post(self.alert("firing")), "200")
        self.assertEqual(self.post(self.alert("firing")), "200")  # duplicate delivery
        self.assertEqual(self.post(self.alert("firing", target="mx9.example.test")), "200")
        self.until("the switch hook ran and ended", lambda: self.hooks_ended(1), 10)
        self.assertEqual(self.hook_lines(),
                         ["domain_failover example.test mx1.example.test mx2.example.test"])
        self.assertEqual(self.post(self.alert("resolved")), "200")
        self.assertEqual(self.post(self.alert("resolved")), "200")
        self.until("the switch hook ran again and ended", lambda: self.hooks_ended(2), 10)
        self.assertEqual(self.hook_lines()[1:], ["domain_failback example.test  mx1.example.test"])
        # A run counts once the runner has read its output to the end, which may follow the
        # supervisor's exit by a turn of the agent's loop: wait for the count, not the exit.
        self.until("both runs counted", lambda: L.value(
            L.scrape(self.lab.client, AGENT), "mxsense_hook_runs_total", hook="switch") == 2, 10)
        m = L.scrape(self.lab.client, AGENT)
        self.assertEqual(L.value(m, "mxsense_webhook_requests_total", result="unauthorized"), 2)
        self.assertEqual(L.value(m, "mxsense_webhook_alerts_total", result="duplicate"), 2)
        self.assertEqual(L.value(m, "mxsense_webhook_alerts_total", result="ignored"), 1)

    def test_2_fault_alerts_fire_then_resolve(self):
        lab, t = self.lab, self.lab.tmp
        self.until("Prometheus has the agent's series",
                   lambda: self.prom("query", query=f'up{{job="{JOB}"}}')["result"])
        lines_before = len(self.hook_lines())
        lab.server.run("iptables", "-A", *REJECT)
        refused = lab.start(lab.client, "dnsperf", "-s", lab.SERVER4, "-d", f"{t}/refused.txt",
                            "-l", "40", "-Q", "10")
        try:
            expected = {("MxsenseMxHostRefusing", MX1), ("MxsenseTargetDown", "mx1.example.test"),
                        ("MxsenseDomainFailover", "example.test"),
                        ("MxsenseDnsServerFailing", lab.SERVER4),
                        ("MxsenseMxHostDownQuorum", "mx1.example.test")}
            self.until("the fault's alerts firing", lambda: expected <= self.firing())
            self.assertNotIn(("MxsenseMxHostRefusing", MX2), self.firing())
            urls = {a["labels"]["alertname"]: a["annotations"]["runbook_url"]
                    for a in self.prom("alerts")["alerts"]}
            self.assertEqual(urls["MxsenseTargetDown"], f"{RUNBOOKS}#mxsensetargetdown")
            self.assertEqual(urls["MxsenseMxHostDownQuorum"],
                             f"{RUNBOOKS}#mxsensemxhostdownquorum")
            # Quorum alert → Alertmanager → webhook → the switch hook, once.
            self.until("the webhook ran the switch hook",
                       lambda: "domain_failover example.test mx1.example.test mx2.example.test"
                       in self.hook_lines()[lines_before:])
            self.check_recording_rules()
            self.check_status_page()
        finally:
            lab.server.run("iptables", "-D", *REJECT, check=False)
            lab.stop(refused)
        self.until("the fault's alerts resolved", lambda: not (expected & self.firing()), 90)
        self.until("the quorum's resolution failed back through the webhook",
                   lambda: any(re.fullmatch(r"domain_failback example.test \S* ?mx1.example.test",
                                            line) for line in self.hook_lines()[lines_before:]))
        # The quiet period is the check: in three of Alertmanager's 1-s group intervals, its
        # repeats and resends run nothing more (no condition marks "nothing more will come").
        time.sleep(3)
        runs = self.hook_lines()[lines_before:]
        self.assertEqual(len(runs), 2, runs)
        self.check_dashboard()

    def check_recording_rules(self):
        groups = self.prom("rules", type="record")["groups"]
        names = [r["name"] for g in groups for r in g["rules"]]
        self.assertGreaterEqual(len(names), 13)
        for name in names:
            self.assertTrue(self.prom("query", query=name)["result"], f"no data: {name}")

    def check_dashboard(self):
        with open(DASHBOARD) as f:
            dash = json.load(f)
        subst = {"$instance": ".*", "$server": ".*", "$mx": ".*", "$__rate_interval": "20s"}

        def expand(expr):
            for k, v in subst.items():
                expr = expr.replace(k, v)
            return expr

        exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
        exprs += [("annotation " + a["name"], a["expr"]) for a in dash["annotations"]["list"]]
        self.assertGreaterEqual(len(exprs), 25)
        now = time.time()
        for title, expr in exprs:
            data = self.prom("query_range", query=expand(expr), start=f"{self.start:.0f}",
                             end=f"{now:.0f}", step="1")
            self.assertTrue(data["result"], f"panel '{title}' has no data: {expand(expr)}")
        for var in dash["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
            values = self.prom(f"label/{m.group(2)}/values", **{"match[]": expand(m.group(1))})
            self.assertTrue(values, f"variable {var['name']} has no values")

    def check_status_page(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        shot = os.path.join(ARTIFACTS, "status-page.png")
        profile = os.path.join(self.lab.tmp, "chromium")
        chrome = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                  "--window-size=1280,1400"]
        url = f"http://127.0.0.1:{AGENT}/"
        dom = self.lab.client.run(*chrome, "--dump-dom", url, timeout=120).stdout
        self.lab.client.run(*chrome, f"--screenshot={shot}", url, timeout=120)
        text = re.sub(r"<[^>]+>", " ", dom)
        text = re.sub(r"\s+", " ", text)
        self.assertIn("Domains", text)
        self.assertIn("example.test mx2.example.test active (to mx2.example.test)", text)
        self.assertRegex(text, r"mx1\.example\.test mx DOWN")
        self.assertRegex(text, r"HEALTHY DOWN")  # a transition row
        self.assertIn("domain_failover", text)
        self.assertIn(self.lab.client_if, text)
        self.assertGreater(os.path.getsize(shot), 10000)
        print(f"\nstatus page screenshot: {shot}")


if __name__ == "__main__":
    unittest.main()
