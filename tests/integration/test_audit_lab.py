"""mxsense audit against real name servers and SMTP listeners in namespaces (issue 14).

Two Knot instances in the server namespace: A (198.18.0.2 and 198.18.1.2) serves every zone and
is also the resolver the audit asks (it answers for its own zones); B (198.18.0.3) serves
example.test with an older serial (a secondary that stopped taking transfers), and TCP to it is
dropped (nft). example.test carries one fault per check; good.test none. Each finding is
asserted by check name, target and status, the exit codes as monitoring plugins use them.
"""
import json
import os
import re
import signal
import time
import unittest

import lab as L
from lab import Lab, run

ZONE_EXAMPLE = """$ORIGIN example.test.
$TTL 3600
@       SOA  ns1 hostmaster {serial} 3600 600 86400 300
        NS   ns1
        NS   ns2
@ 60    MX   10 mx1
@ 60    MX   20 mx2
@ 60    MX   30 mx3
@ 60    MX   40 mx4
@ 60    MX   50 mx5
ns1     A    198.18.0.2
ns2     A    198.18.0.3
mx1     A    198.18.0.25
mx2     CNAME mx1
mx3     TXT  "no address here"
mx4     A    198.18.0.27
mx5     A    198.18.0.28
other   A    198.18.0.99
_mta-sts TXT "v=STSv1; id=20261130"
mta-sts A    198.18.0.40
"""

# The policy leaves out the backup mx5 (senders enforcing it would refuse to deliver there).
POLICY = """version: STSv1
mode: enforce
mx: mx1.example.test
mx: mx2.example.test
mx: mx3.example.test
mx: mx4.example.test
max_age: 86400
"""

# A static HTTPS server for the policy (RFC 8461 3.3), its certificate from the lab's CA.
HTTPS_SERVER = """
import http.server, ssl, sys
addr, cert, key, root = sys.argv[1:5]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=root, **kw)
httpd = http.server.HTTPServer((addr, 443), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
"""

ZONE_GOOD = """$ORIGIN good.test.
$TTL 3600
@       SOA  ns1 hostmaster 7 3600 600 86400 300
        NS   ns1
        NS   ns2
        MX   10 mx1
        MX   20 mx2
ns1     A    198.18.0.2
ns2     A    198.18.1.2
mx1     A    198.18.0.30
mx2     A    198.18.1.30
"""

ZONE_REV0 = """$ORIGIN 0.18.198.in-addr.arpa.
$TTL 3600
@       SOA  ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
        NS   ns1.example.test.
25      PTR  mx1.example.test.
27      PTR  other.example.test.
30      PTR  mx1.good.test.
"""

ZONE_REV1 = """$ORIGIN 1.18.198.in-addr.arpa.
$TTL 3600
@       SOA  ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300
        NS   ns1.example.test.
30      PTR  mx2.good.test.
"""


# More name servers than the audit asks (8), none with an address.
ZONE_WIDE = "$ORIGIN wide.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n" + "".join(
    f"@ NS ns{i}\n" for i in range(1, 10)) + "@ MX 10 mx1.example.test.\n"


class AuditLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = lab = Lab.for_test_class(cls)
        srv, cli = lab.server, lab.client
        for a in ("198.18.0.3", "198.18.0.25", "198.18.0.27", "198.18.0.28", "198.18.0.30",
                  "198.18.0.40"):
            srv.run("ip", "addr", "add", f"{a}/32", "dev", lab.server_if)
        for a in ("198.18.1.2", "198.18.1.30"):
            srv.run("ip", "addr", "add", f"{a}/32", "dev", lab.server_if)
        cli.run("ip", "route", "add", "198.18.1.0/24", "dev", lab.client_if)
        # TCP to name server B dropped: its UDP answers, its TCP times out.
        srv.run("nft", "add table inet mxaudit; add chain inet mxaudit in "
                "{ type filter hook input priority 0; }; "
                "add rule inet mxaudit in ip daddr 198.18.0.3 tcp dport 53 drop")
        cls.knot(lab, "a", ["198.18.0.2", "198.18.1.2"],
                 {"example.test.": ZONE_EXAMPLE.format(serial=2), "good.test.": ZONE_GOOD,
                  "wide.test.": ZONE_WIDE,
                  "0.18.198.in-addr.arpa.": ZONE_REV0, "1.18.198.in-addr.arpa.": ZONE_REV1})
        cls.knot(lab, "b", ["198.18.0.3"], {"example.test.": ZONE_EXAMPLE.format(serial=1)})
        # mx1: Postfix with STARTTLS and a certificate for another name (mx.example.test);
        # mx5: a backup Postfix that is no destination for example.test (relay denied);
        # mx4 and good.test's hosts: smtp-sink, which takes anything and offers no STARTTLS.
        lab.start_postfix(srv, "198.18.0.25")
        lab.start_postfix(srv, "198.18.0.28", destination="other.test",
                          main_cf="smtpd_relay_restrictions = reject_unauth_destination")
        for a in ("198.18.0.27", "198.18.0.30", "198.18.1.30"):
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "10")
        cls.ca = cls.mta_sts_server(lab)

    @staticmethod
    def mta_sts_server(lab):
        """The lab's CA, a certificate for mta-sts.example.test from it, and the policy served
        over HTTPS on 198.18.0.40; returns the CA file (the audit's --ca-file)."""
        d = os.path.join(lab.tmp, "mta-sts")
        os.makedirs(os.path.join(d, "root", ".well-known"))
        with open(os.path.join(d, "root", ".well-known", "mta-sts.txt"), "w") as f:
            f.write(POLICY)
        ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=mxsense lab CA", "-keyout", ca_key, "-out", ca)
        key, csr, cert = (os.path.join(d, n) for n in ("key.pem", "req.pem", "cert.pem"))
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
            "/CN=mta-sts.example.test", "-keyout", key, "-out", csr)
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:mta-sts.example.test\n")
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
        script = os.path.join(d, "serve.py")
        with open(script, "w") as f:
            f.write(HTTPS_SERVER)
        lab.start_listener(lab.server, "198.18.0.40:443", "/usr/bin/python3", script,
                           "198.18.0.40", cert, key, os.path.join(d, "root"))
        return ca

    @staticmethod
    def knot(lab, name, addresses, zones):
        return lab.start_knot_zones(os.path.join(lab.tmp, f"knot-{name}"), addresses, zones)

    def audit(self, *args):
        build = os.environ.get("MXSENSE_BUILD", os.path.join(os.path.dirname(__file__),
                                                             "../../build"))
        return self.lab.client.run(os.path.join(build, "mxsense"), "audit", "--resolver",
                                   "198.18.0.2", "--timeout", "1", "--serial-grace", "2",
                                   "--ca-file", self.ca, *args,
                                   check=False, timeout=120)

    def findings(self, *args):
        r = self.audit("--json", *args)
        self.assertTrue(r.stdout, f"rc {r.returncode}: {r.stderr[-3000:]}")
        doc = json.loads(r.stdout)
        return r.returncode, {(c["check"], c["target"]): c for c in doc["checks"]}

    def test_every_fault_is_found(self):
        code, f = self.findings("example.test")
        want = {
            ("mx_present", "example.test"): "ok",
            ("mx_target_valid", "mx1.example.test"): "ok",
            ("mx_target_valid", "mx2.example.test"): "critical",  # a CNAME
            ("mx_resolves", "mx1.example.test"): "ok",
            ("mx_resolves", "mx3.example.test"): "critical",  # no address
            ("mx_ttl", "example.test"): "warning",  # 60 s
            ("ns_count", "example.test"): "ok",
            ("ns_udp", "198.18.0.2"): "ok",
            ("ns_udp", "198.18.0.3"): "ok",
            ("ns_tcp", "198.18.0.2"): "ok",
            ("ns_tcp", "198.18.0.3"): "critical",  # TCP dropped
            ("ns_prefix_diversity", "example.test"): "warning",  # one /24
            ("soa_serial_consistent", "example.test"): "critical",  # 2 and 1
            ("ns_set_consistent", "example.test"): "ok",
            ("ptr_fcrdns", "198.18.0.25"): "ok",
            ("ptr_fcrdns", "198.18.0.27"): "warning",  # PTR to a name elsewhere
            ("ptr_fcrdns", "198.18.0.28"): "warning",  # no PTR
            ("smtp_accepts_domain", "mx1.example.test"): "ok",
            ("smtp_accepts_domain", "mx4.example.test"): "ok",
            ("smtp_accepts_domain", "mx5.example.test"): "critical",  # relay denied
            ("starttls_consistent", "mx1.example.test"): "ok",
            ("starttls_consistent", "mx4.example.test"): "warning",  # the primary has it
            ("starttls_consistent", "mx5.example.test"): "ok",
            ("tls_name_matches", "mx1.example.test"): "warning",  # for mx.example.test
            ("mta_sts_covers_mx", "mx1.example.test"): "ok",
            ("mta_sts_covers_mx", "mx4.example.test"): "ok",
            ("mta_sts_covers_mx", "mx5.example.test"): "critical",  # left out of the policy
        }
        got = {k: f[k]["status"] for k in want if k in f}
        self.assertEqual(got, want, json.dumps(f and list(f.values()), indent=1))
        self.assertEqual(code, 2)
        self.assertIn("CNAME to mx1.example.test", f[("mx_target_valid", "mx2.example.test")]["detail"])
        self.assertIn("2 at 198.18.0.2", f[("soa_serial_consistent", "example.test")]["detail"])
        self.assertIn("1 at 198.18.0.3", f[("soa_serial_consistent", "example.test")]["detail"])
        self.assertIn("timeout", f[("ns_tcp", "198.18.0.3")]["detail"])
        self.assertIn("would bounce the domain's mail: 554",
                      f[("smtp_accepts_domain", "mx5.example.test")]["detail"])
        self.assertIn("matches no mx of the MTA-STS policy (enforce",
                      f[("mta_sts_covers_mx", "mx5.example.test")]["detail"])
        self.assertIn("does not cover mx1.example.test",
                      f[("tls_name_matches", "mx1.example.test")]["detail"])
        # Each finding once: the address mx2 aliases is checked with mx1's, not twice.
        self.assertEqual(sum(1 for k in f if k == ("ptr_fcrdns", "198.18.0.25")), 1)

    def test_a_healthy_domain_is_ok(self):
        code, f = self.findings("good.test")
        self.assertEqual({k: c["status"] for k, c in f.items() if c["status"] != "ok"}, {})
        self.assertEqual(code, 0)
        for k in [("mx_present", "good.test"), ("ns_tcp", "198.18.1.2"),
                  ("ptr_fcrdns", "198.18.1.30"), ("mx_resolves", "mx2.good.test"),
                  ("soa_serial_consistent", "good.test")]:
            self.assertIn(k, f)

    def test_bounds_are_said(self):
        """The 9th name server is not asked, and the finding says so (a bound is never silent);
        names without an address are a broken delegation."""
        r = self.audit("--json", "--check", "ns_count", "wide.test")
        c = json.loads(r.stdout)["checks"]
        self.assertEqual(len(c), 1, c)
        self.assertEqual(c[0]["status"], "critical", c)
        self.assertIn("none with an address", c[0]["detail"])
        self.assertIn("; more than 8 name servers: the first 8 audited", c[0]["detail"])
        self.assertEqual(r.returncode, 2)

    def test_deadline_bounds_the_run(self):
        """--deadline bounds the whole audit as a monitoring plugin's timeout does: what is not
        asked by then is UNKNOWN, never a fault of the servers'. The lab's zone has a name
        server that drops TCP, whose questions each wait out the 1-s timeout."""
        full_start = time.monotonic()
        full = json.loads(self.audit("--json", "example.test").stdout)
        full_s = time.monotonic() - full_start
        deadline = 0.5
        self.assertGreater(full_s, deadline + 0.5, "the lab's audit must outlast the deadline")
        start = time.monotonic()
        r = self.audit("--json", "--deadline", str(deadline), "example.test")
        took = time.monotonic() - start
        self.assertLess(took, deadline + 1.0, r.stdout)
        cut = json.loads(r.stdout)["checks"]
        late = [c for c in cut if "deadline" in c["detail"]]
        self.assertTrue(late, cut)
        for c in late:
            self.assertEqual(c["status"], "unknown", c)
        # A deadline shorter than a session's bound (6 timeouts) still leaves the sessions what
        # is left: a healthy domain stays OK.
        healthy = self.audit("--json", "--deadline", "3", "good.test")
        self.assertEqual(healthy.returncode, 0, healthy.stdout)
        self.assertNotIn("deadline", healthy.stdout)
        # What was judged before the deadline is judged as without one.
        before = {(c["check"], c["target"]): c["status"] for c in full["checks"]}
        for c in cut:
            if "deadline" not in c["detail"] and c["status"] != "unknown":
                self.assertEqual(before.get((c["check"], c["target"])), c["status"], c)

    def test_text_lines_and_check_selection(self):
        r = self.audit("--check", "mx_ttl", "--check", "ns_count", "example.test", "good.test")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # the worst: mx_ttl's warning
        self.assertEqual(sorted(r.stdout.splitlines()), sorted([
            "OK       ns_count example.test: 2 name servers: ns1.example.test, ns2.example.test "
            "(example.test)",
            "WARNING  mx_ttl example.test: MX TTL 60 s is outside 300 to 86400 s (example.test)",
            "OK       ns_count good.test: 2 name servers: ns1.good.test, ns2.good.test (good.test)",
            "OK       mx_ttl good.test: MX TTL 3600 s (good.test)",
        ]))

    def zonemaster(self, domain, servers):
        """Zonemaster's findings (tag, name server) on the same lab zone: its undelegated test of
        the given servers, the test cases that cover what ns_udp, ns_tcp,
        soa_serial_consistent and ns_set_consistent check."""
        args = ["zonemaster-cli", "--raw", "--level", "NOTICE", "--no-ipv6"]
        for t in ("Connectivity/connectivity01", "Connectivity/connectivity02",
                  "Consistency/consistency01", "Consistency/consistency04"):
            args += ["--test", t]
        for name, addr in servers:
            args += ["--ns", f"{name}/{addr}"]
        r = self.lab.client.run(*args, domain, check=False, timeout=180)
        found = set()
        for line in r.stdout.splitlines():
            # "  10.04 WARNING   CONNECTIVITY02 CN02_NO_RESPONSE_TCP   ns=ns2.example.test/..."
            m = re.search(r"\s([A-Z0-9]+_[A-Z0-9_]+)\s*(.*)$", line)
            if m and ("_NO_RESPONSE" in m.group(1) or m.group(1).startswith("MULTIPLE_")):
                ns = re.search(r"ns=[^/]+/([0-9a-f.:]+)", m.group(2))
                found.add((m.group(1), ns.group(1) if ns else ""))
        return found

    def test_zonemaster_agrees(self):
        """Where Zonemaster covers the same property, it and the audit find the same servers."""
        seen = {}
        for domain, servers in (
                ("example.test", [("ns1.example.test", "198.18.0.2"),
                                  ("ns2.example.test", "198.18.0.3")]),
                ("good.test", [("ns1.good.test", "198.18.0.2"), ("ns2.good.test", "198.18.1.2")])):
            zm = seen[domain] = self.zonemaster(domain, servers)
            _, f = self.findings("--check", "ns_udp", "--check", "ns_tcp", "--check",
                                 "soa_serial_consistent", "--check", "ns_set_consistent", domain)
            bad = lambda check: {t for (c, t), v in f.items() if c == check and v["status"] != "ok"}
            self.assertEqual({a for tag, a in zm if tag == "CN01_NO_RESPONSE_UDP"}, bad("ns_udp"),
                             (domain, zm))
            self.assertEqual({a for tag, a in zm if tag == "CN02_NO_RESPONSE_TCP"}, bad("ns_tcp"),
                             (domain, zm))
            self.assertEqual(any(tag == "MULTIPLE_SOA_SERIALS" for tag, _ in zm),
                             bool(bad("soa_serial_consistent")), (domain, zm))
            self.assertEqual(any(tag.startswith("MULTIPLE_NS_SET") for tag, _ in zm),
                             bool(bad("ns_set_consistent")), (domain, zm))
        # The lab's faults are there for Zonemaster too: the comparison is not of two blanks.
        self.assertIn(("CN02_NO_RESPONSE_TCP", "198.18.0.3"), seen["example.test"])
        self.assertIn(("MULTIPLE_SOA_SERIALS", ""), seen["example.test"])

    def test_usage_errors_are_unknown(self):
        for args, msg in [(("--check", "nosuch", "example.test"), "is not a check"),
                          (("bad..name",), "is not a DNS name"),
                          (("--timeout", "0", "example.test"), ""),
                          # Read as the agent's numbers are: no NaN, no infinity, no octal.
                          (("--timeout", "nan", "example.test"), "--timeout: 'nan': expected"),
                          (("--serial-grace", "inf", "example.test"), "--serial-grace: 'inf'"),
                          (("--mx-ttl-min", "010", "example.test"), "leading zero")]:
            r = self.audit(*args)
            self.assertEqual(r.returncode, 3, (args, r.stdout, r.stderr))
            self.assertIn(msg, r.stderr)


class AgentAuditLab(AuditLab):
    """The agent's periodic audit of its configured domains: the findings as metrics and on the
    status page (the same lab; the agent in the client namespace)."""

    PORT = 10072
    GRACE = 20  # audit.serial_grace: longer than one run waits (10 s), followed across runs

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cfg = os.path.join(cls.lab.tmp, "agent.yaml")
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{cls.lab.client_if}]
listen: 127.0.0.1:{cls.PORT}
state_file: {cls.lab.tmp}/state.json
dns_servers: [198.18.0.2]
probes: {{interval: 10, timeout: 1}}
audit: {{interval: 600, serial_grace: {cls.GRACE}}}
domains:
  - name: example.test
    mx: discover
  - name: good.test
    mx: discover
""")
        cls.agent = cls.lab.start_agent_config(cls.lab.client, cfg, cls.PORT)

    # The command-line tests of the parent run once, there.
    test_every_fault_is_found = test_a_healthy_domain_is_ok = None
    test_text_lines_and_check_selection = test_usage_errors_are_unknown = None
    test_zonemaster_agrees = None

    def status_doc(self):
        return json.loads(self.lab.client.run(L.MXSENSE, "status", "--json", "--agent",
                                              f"127.0.0.1:{self.PORT}").stdout)

    def check_passive_evidence(self, t_last):
        """mx_resolves from the sensor's evidence: once the agent judges mx1 HEALTHY with every
        connection of a window accepted (its probes'), a run takes that over a connection of
        its own (the command-line tests check the connections)."""
        def finding(doc, host):
            return [c for r in doc["audit"]["reports"] if r["domain"] == "example.test"
                    for c in r["checks"] if c["check"] == "mx_resolves" and c["target"] == host][0]
        evidence = (r"^1 address\(es\); its last window \(traffic and probes\) saw it accept "
                    r"all of \d+ connection\(s\)$")
        # The run when the grace ended may have come after such a window already.
        if re.match(evidence, finding(self.status_doc(), "mx1.example.test")["detail"]):
            return

        def mx1_accepting():
            t = [t for t in self.status_doc()["targets"] if t["target"] == "mx1.example.test"]
            w = t[0]["window"] if t else {}
            return (t and t[0]["state"] == "HEALTHY" and w["attempts"] > 0 and w["errors"] == 0
                    and w["timeouts"] == 0)
        L.until(mx1_accepting, 90, "mx1 HEALTHY, every connection of a window accepted")
        self.agent.send_signal(signal.SIGHUP)  # a reload audits again soon

        def rerun():
            doc = self.status_doc()
            return doc if doc["audit"]["last_run_unix_time"] > t_last else None
        doc = L.until(rerun, 60, "the run after the reload")
        f = finding(doc, "mx1.example.test")
        self.assertEqual(f["status"], "ok")
        self.assertRegex(f["detail"], evidence)

    def test_findings_are_metrics_and_on_the_page(self):
        def audited():
            m = L.scrape(self.lab.client, self.PORT)
            return m if L.value(m, "mxsense_audit_last_run_timestamp_seconds") else None
        first = L.until(audited, 60, "the first audit run")
        status = lambda check, target, domain="example.test": L.value(
            m, "mxsense_audit_check_status", domain=domain, check=check, target=target)
        # The serials differ from the start (the zone files), but the first run is within the
        # grace: ok, saying so; the agent audits again when the grace ends, and then they count.
        m = first
        self.assertEqual(status("soa_serial_consistent", "example.test"), 0)
        doc = json.loads(self.lab.client.run(L.MXSENSE, "status", "--json", "--agent",
                                             f"127.0.0.1:{self.PORT}").stdout)
        serial = [c for r in doc["audit"]["reports"] if r["domain"] == "example.test"
                  for c in r["checks"] if c["check"] == "soa_serial_consistent"][0]
        self.assertRegex(serial["detail"], rf"within the grace of {self.GRACE} s: 1 at 198\.18\.0\.3")
        t1 = L.value(first, "mxsense_audit_last_run_timestamp_seconds")
        dur1 = L.value(first, "mxsense_audit_duration_seconds")

        # The first run that finds the serials CRITICAL, seen in /api/v1/status without a
        # scrape (the route serves the last run, not the copy the last scrape made). Runs may
        # come between (discovery finishing during the first run audits again 5 s later):
        # within the grace they say ok.
        def critical_run():
            doc = self.status_doc()
            serial = [c for r in doc["audit"]["reports"] if r["domain"] == "example.test"
                      for c in r["checks"] if c["check"] == "soa_serial_consistent"]
            if serial and serial[0]["status"] == "critical":
                return doc["audit"]["last_run_unix_time"]
            if serial:
                self.assertEqual(serial[0]["status"], "ok", serial)
            return None
        t2 = L.until(critical_run, 60, "the run when the serial grace ends, in /api/v1/status")
        m = L.scrape(self.lab.client, self.PORT)
        # Not before the grace, counted from the first run's sighting (within that run: it
        # started dur1 before t1), and not the interval's (600 s) later: at the grace's end.
        self.assertGreaterEqual(t2 - (t1 - dur1), self.GRACE)
        self.assertLess(t2 - t1, 60)
        self.check_passive_evidence(t2)
        self.assertEqual(status("ns_tcp", "198.18.0.3"), 2)
        self.assertEqual(status("soa_serial_consistent", "example.test"), 2)
        self.assertEqual(status("mx_ttl", "example.test"), 1)
        self.assertEqual(status("mx_present", "example.test"), 0)
        self.assertEqual(status("ns_tcp", "198.18.1.2", "good.test"), 0)
        self.assertGreater(L.value(m, "mxsense_audit_duration_seconds"), 0)
        # The figures behind the findings: B serves serial 1, A serial 2 (the zone files).
        self.assertEqual(L.value(m, "mxsense_audit_soa_serial", server="198.18.0.3"), 1)
        self.assertEqual(L.value(m, "mxsense_audit_soa_serial_lag", server="198.18.0.3"), 1)
        self.assertEqual(L.value(m, "mxsense_audit_soa_serial_lag", server="198.18.0.2"), 0)
        # Postfix's certificate (openssl -days 2): expires within 2 days from now.
        expiry = L.value(m, "mxsense_audit_certificate_expiry_timestamp_seconds",
                         host="mx1.example.test")
        self.assertLess(abs(expiry - (time.time() + 2 * 86400)), 3600)
        page = self.lab.client.run("curl", "-sf", f"http://127.0.0.1:{self.PORT}/").stdout
        self.assertIn("<h2>Audit</h2>", page)
        self.assertIn("soa_serial_consistent", page)
        self.assertIn("198.18.0.3", page)
        # `mxsense status`: the findings that are not ok, as `mxsense audit` words them, and
        # the JSON's reports as `mxsense audit --json` shapes them.
        table = self.lab.client.run(L.MXSENSE, "status", "--agent",
                                    f"127.0.0.1:{self.PORT}").stdout
        self.assertRegex(table, r"\nAUDIT critical: \d+ finding\(s\), \d+ not ok, \d+ s ago\n")
        self.assertRegex(table, r"\nCRITICAL +ns_tcp 198\.18\.0\.3: .*\(example\.test\)\n")
        self.assertNotRegex(table, r"\n\w+ +ns_tcp 198\.18\.1\.2: ")  # good.test's, ok
        doc = json.loads(self.lab.client.run(L.MXSENSE, "status", "--json", "--agent",
                                             f"127.0.0.1:{self.PORT}").stdout)
        by = {(r["domain"], c["check"], c["target"]): c["status"]
              for r in doc["audit"]["reports"] for c in r["checks"]}
        self.assertEqual(by[("example.test", "ns_tcp", "198.18.0.3")], "critical")
        self.assertEqual(by[("good.test", "ns_tcp", "198.18.1.2")], "ok")


if __name__ == "__main__":
    unittest.main()
