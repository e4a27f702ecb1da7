"""scripts/mx-switchover against a real BIND 9 primary (update-policy granting a TSIG key MX
changes) and a real BIND 9 secondary fed by NOTIFY/IXFR, in network namespaces; then the whole
loop: SMTP traffic, the primary MX fails, the agent's hook switches the MX records, and back.
"""
import os
import subprocess
import time
import unittest

import lab as L

NS1, NS2, MX1, MX2 = "198.18.0.20", "198.18.0.21", "198.18.0.10", "198.18.0.11"
SWITCHOVER = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "mx-switchover")
ORIGINAL = [(10, "mx1.example.test."), (20, "mx2.example.test.")]
SWAPPED = [(10, "mx2.example.test."), (20, "mx1.example.test.")]
ZONE = f"""$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster 1 3600 600 86400 60
@       NS  ns1
@       NS  ns2
ns1     A   {NS1}
ns2     A   {NS2}
@       MX  10 mx1
@       MX  20 mx2
mx1     A   {MX1}
mx2     A   {MX2}
"""


class SwitchoverLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (NS1, NS2, MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        cls.key = lab.tsig_key()
        cls.wrong_key = lab.tsig_key(tag="wrong")  # same name, another secret
        lab.start_bind(NS1, zone_text=ZONE, key_file=cls.key, secondaries=(NS2,))
        lab.start_bind(NS2, primary=NS1)
        cls.state = os.path.join(lab.tmp, "state")

    def setUp(self):
        self.assertEqual(self.mx(NS1), ORIGINAL)
        self.wait_in_sync()

    # ---- helpers -------------------------------------------------------------

    def dig(self, server, rtype):
        r = self.lab.client.run("dig", "+norecurse", "+noall", "+answer", f"@{server}",
                                "example.test", rtype)
        return [line.split(None, 4) for line in r.stdout.splitlines() if line.strip()]

    def mx(self, server):
        return sorted((int(f[4].split()[0]), f[4].split()[1]) for f in self.dig(server, "MX"))

    def mx_ttl(self, server):
        return {int(f[1]) for f in self.dig(server, "MX")}

    def serial(self, server):
        return int(self.dig(server, "SOA")[0][4].split()[2])

    def wait_in_sync(self, seconds=10):
        L.until(lambda: self.serial(NS1) == self.serial(NS2) and self.mx(NS1) == self.mx(NS2),
                seconds, "the secondary in sync with the primary", interval=0.2,
                detail=lambda: f"serials {self.serial(NS1)} {self.serial(NS2)}")

    def switchover(self, *args, env=None, key=None):
        cmd = [SWITCHOVER, "--zone", "example.test", "--server", NS1, "--key-file",
               key or self.key, "--state-dir", self.state, "--verify-timeout", "10", *args]
        r = self.lab.client.run(*cmd, check=False, timeout=60,
                                env={**os.environ, **(env or {})})
        return r

    def signed_update(self, *lines, key=None):
        text = f"server {NS1}\nzone example.test\n" + "\n".join(lines) + "\nsend\n"
        args = ["-k", key or self.key] if key is not False else []
        return self.lab.client.run("nsupdate", "-v", "-t", "5", *args, input=text, check=False)

    def assert_unchanged(self, serial, mx=ORIGINAL):
        self.wait_in_sync()
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), mx, s)
            self.assertEqual(self.serial(s), serial, s)

    # ---- the script ------------------------------------------------------------

    def test_promote_then_restore_idempotent_and_verified(self):
        r = self.switchover("promote", "mx2.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in (NS1, NS2):  # the script verified both; check independently
            self.assertEqual(self.mx(s), SWAPPED, s)
        self.assertIn(f"verified on ns2.example.test. ({NS2})", r.stderr)
        serial = self.serial(NS1)
        again = self.switchover("promote", "mx2.example.test")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to change", again.stderr)
        self.assertEqual(self.serial(NS1), serial)
        r = self.switchover("restore")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), ORIGINAL, s)
        again = self.switchover("restore")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to restore", again.stderr)

    def test_failover_ttl_is_restored(self):
        r = self.switchover("promote", "mx2.example.test", "--failover-ttl", "30")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mx_ttl(NS2), {30})
        r = self.switchover("restore")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mx_ttl(NS1), {300})
        self.assertEqual(self.mx_ttl(NS2), {300})

    def test_dry_run_prints_the_update_and_changes_nothing(self):
        serial = self.serial(NS1)
        r = self.switchover("promote", "mx2.example.test", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("prereq yxrrset example.test. IN MX 10 mx1.example.test.", r.stdout)
        self.assertIn("prereq yxrrset example.test. IN MX 20 mx2.example.test.", r.stdout)
        self.assertIn("update add example.test. 300 IN MX 10 mx2.example.test.", r.stdout)
        self.assert_unchanged(serial)

    def test_as_a_hook(self):
        env = {"MXSENSE_EVENT": "domain_failover", "MXSENSE_DOMAIN": "example.test",
               "MXSENSE_TO": "mx2.example.test"}
        r = self.lab.client.run(SWITCHOVER, "--server", NS1, "--key-file", self.key,
                                "--state-dir", self.state, check=False, timeout=60,
                                env={**os.environ, **env})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mx(NS2), SWAPPED)
        env["MXSENSE_EVENT"] = "domain_failback"
        r = self.lab.client.run(SWITCHOVER, "--server", NS1, "--key-file", self.key,
                                "--state-dir", self.state, check=False, timeout=60,
                                env={**os.environ, **env})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mx(NS2), ORIGINAL)

    # ---- refusals: each leaves the zone as it was, on both servers -----------------

    def test_unsigned_update_is_refused(self):
        serial = self.serial(NS1)
        r = self.signed_update("update delete example.test. MX", key=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("REFUSED", r.stdout + r.stderr)
        self.assert_unchanged(serial)

    def test_wrong_key_is_refused(self):
        serial = self.serial(NS1)
        r = self.switchover("promote", "mx2.example.test", key=self.wrong_key)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("TSIG", r.stderr)
        self.assert_unchanged(serial)

    def test_stale_prerequisite_is_refused(self):
        err_path = os.path.join(self.lab.tmp, "stale-prerequisite.err")
        with open(err_path, "w") as err_file:
            p = subprocess.Popen(["ip", "netns", "exec", self.lab.client.name, SWITCHOVER,
                                  "--zone", "example.test", "--server", NS1, "--key-file",
                                  self.key, "--state-dir", self.state, "--pause-after-read", "2",
                                  "promote", "mx2.example.test"], stderr=err_file)

        def stderr_text():
            with open(err_path) as f:
                return f.read()
        # The script has read the RRset (it says so, then pauses 2 s); someone else changes it.
        L.until(lambda: "read from" in stderr_text() or p.poll() is not None, 10,
                "mx-switchover read the RRset", detail=stderr_text)
        concurrent = [(10, "mx1.example.test."), (30, "mx2.example.test.")]
        self.assertEqual(self.signed_update("update delete example.test. MX 20 mx2.example.test.",
                                            "update add example.test. 300 MX 30 mx2.example.test."
                                            ).returncode, 0)
        serial = self.serial(NS1)
        p.wait(timeout=60)
        err = stderr_text()
        try:
            self.assertEqual(p.returncode, 4, err)
            self.assertIn("prerequisite failed", err)
            self.assert_unchanged(serial, concurrent)  # the concurrent change stands, alone
        finally:
            self.signed_update("update delete example.test. MX 30 mx2.example.test.",
                               "update add example.test. 300 MX 20 mx2.example.test.")
            os.path.exists(f"{self.state}/example.test.json") and os.unlink(
                f"{self.state}/example.test.json")

    def test_deleting_every_mx_is_refused(self):
        serial = self.serial(NS1)
        r = self.switchover("set", " ")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("without MX records", r.stderr)
        self.assert_unchanged(serial)

    def test_null_mx_is_refused(self):
        serial = self.serial(NS1)
        r = self.switchover("set", "0 .")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("null MX", r.stderr)
        self.assert_unchanged(serial)

    def test_promoting_a_name_without_address_is_refused(self):
        # BIND itself refuses an MX to an in-zone name without address (check-integrity):
        # the dangling MX host is out of the zone, and nothing resolves it.
        with_noaddr = ORIGINAL + [(30, "mx.nothing.invalid.")]
        r = self.signed_update("update add example.test. 300 MX 30 mx.nothing.invalid.")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        try:
            self.wait_in_sync()
            serial = self.serial(NS1)
            r = self.switchover("promote", "mx.nothing.invalid")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("mx.nothing.invalid. does not resolve to an address", r.stderr)
            self.assert_unchanged(serial, with_noaddr)
        finally:
            self.signed_update("update delete example.test. MX 30 mx.nothing.invalid.")

    def test_lagging_name_server_is_named(self):
        # The secondary stops hearing NOTIFY and cannot transfer: it lags.
        rules = [["OUTPUT", "-s", NS1, "-d", NS2, "-p", "udp", "--dport", "53", "-j", "DROP"],
                 ["OUTPUT", "-s", NS2, "-d", NS1, "-p", "tcp", "--dport", "53", "-j", "DROP"]]
        for rule in rules:
            self.lab.server.run("iptables", "-A", *rule)
        try:
            r = self.switchover("promote", "mx2.example.test", "--verify-timeout", "3")
            self.assertEqual(r.returncode, 5, r.stderr)
            self.assertIn(f"ns2.example.test. ({NS2}): serial", r.stderr)
            self.assertNotIn(f"ns1.example.test. ({NS1}): serial", r.stderr.splitlines()[-1])
            self.assertEqual(self.mx(NS1), SWAPPED)
            self.assertEqual(self.mx(NS2), ORIGINAL)
        finally:
            for rule in rules:
                self.lab.server.run("iptables", "-D", *rule)
        r = self.switchover("restore")  # a new change: NOTIFY again, both in sync
        self.assertEqual(r.returncode, 0, r.stderr)


class WholeLoopLab(unittest.TestCase):
    """Traffic to the primary MX; it fails; the agent's hook runs mx-switchover; both name
    servers serve the backup first; the primary recovers; after the hold the order is back."""

    PORT = 10072

    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (NS1, NS2, MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        key = lab.tsig_key()
        lab.start_bind(NS1, zone_text=ZONE, key_file=key, secondaries=(NS2,))
        lab.start_bind(NS2, primary=NS1)
        for a in (MX1, MX2):
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
        cfg = os.path.join(lab.tmp, "agent.yaml")
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{cls.PORT}
state_file: {lab.tmp}/state.json
dns_servers: [{NS1}]
verdicts: {{window: 1, rise: 2, fall: 2, hold_down: 2, failback_hold: 3}}
probes: {{interval: 1, timeout: 0.8, dns_name: example.test, dns_type: SOA}}
discovery: {{max_refresh: 2, min_refresh: 1}}
domains:
  - name: example.test
    mx: discover
hooks:
  - name: switchover
    events: [domain_failover, domain_failback]
    argv: [{os.path.abspath(SWITCHOVER)}, --server, {NS1}, --key-file, {key},
           --state-dir, {lab.tmp}/state, --verify-timeout, "20"]
    timeout: 40
    cooldown: 1
""")
        cls.cfg = cfg
        cls.agent = cls.start_agent()
        lab.start_smtp_load(lab.client, MX1, 120)

    @classmethod
    def start_agent(cls):
        return cls.lab.start_agent_config(cls.lab.client, cls.cfg, cls.PORT)

    def mx(self, server):
        r = self.lab.client.run("dig", "+norecurse", "+short", f"@{server}", "example.test", "MX")
        return sorted((int(p), h) for p, h in (line.split() for line in r.stdout.splitlines()))

    def until(self, what, check, seconds=30):
        return L.until(check, seconds, what, interval=0.2,
                       detail=lambda: self.lab.log(self.agent)[-4000:])

    def test_fault_switchover_recovery_failback(self):
        m = lambda: L.scrape(self.lab.client, self.PORT)
        healthy = lambda t: L.value(m(), "mxsense_target_state", target=t, state="HEALTHY") == 1
        self.until("both MX hosts HEALTHY (mx2 by probes alone)",
                   lambda: healthy("mx1.example.test") and healthy("mx2.example.test"))
        reject = ["INPUT", "-p", "tcp", "-d", MX1, "--dport", "25", "-j", "REJECT",
                  "--reject-with", "tcp-reset"]
        self.lab.server.run("iptables", "-A", *reject)
        fault = time.time()
        try:
            self.until("backup first on both name servers",
                       lambda: self.mx(NS1) == SWAPPED and self.mx(NS2) == SWAPPED)
            switched = time.time() - fault
            print(f"\nfault to switchover verified on both name servers: {switched:.1f} s")
            self.until("the hook reported success",
                       lambda: L.value(m(), "mxsense_hook_runs_total", hook="switchover",
                                       event="domain_failover", result="success") == 1)
            log = self.lab.log(self.agent)
            self.assertIn(f"hook switchover: | mx-switchover: example.test: verified on "
                          f"ns2.example.test. ({NS2})", log)
            # The switched DNS is read back: the agent must not take it as the operator's new
            # order (no failback to mx2, no second failover). A discovery round counts when it
            # begins, so at two more than now one whole round began after the switch, and the
            # next began a refresh interval (2 s: two verdict windows) after it.
            lookups = lambda: L.value(m(), "mxsense_discovery_lookups_total")
            rounds = lookups()
            self.until("the agent read the switched MX records back",
                       lambda: lookups() >= rounds + 2)
            self.assertRegex(self.lab.log(self.agent),
                             r"discovery of example\.test: MX mx2\.example\.test ")
            self.assertEqual(L.value(m(), "mxsense_domain_failover_active",
                                     domain="example.test"), 1)
            self.assertEqual(self.mx(NS1), SWAPPED)
            # A restart during the failover: DNS now says mx2 first; the state file says the
            # domain is failed over from mx1. No second failover; the failback still comes.
            self.assertEqual(self.lab.stop(self.agent), 0)
            WholeLoopLab.agent = self.start_agent()
            # A second failover would be decided in the window that judges mx1 DOWN.
            self.until("the restarted agent judged mx1 DOWN",
                       lambda: L.value(m(), "mxsense_target_state", target="mx1.example.test",
                                       state="DOWN") == 1)
            m2 = m()
            self.assertEqual(self.lab.children(self.agent), [])  # no hook running either
            self.assertEqual(L.value(m2, "mxsense_domain_failover_active",
                                     domain="example.test"), 1)
            self.assertEqual(L.value(m2, "mxsense_hook_runs_total", hook="switchover"), 0)
            self.assertIn("failed over to mx2.example.test before this start",
                          self.lab.log(self.agent))
        finally:
            self.lab.server.run("iptables", "-D", *reject, check=False)
        recovered = time.time()
        self.until("original order on both name servers",
                   lambda: self.mx(NS1) == ORIGINAL and self.mx(NS2) == ORIGINAL)
        print(f"recovery to failback verified: {time.time() - recovered:.1f} s "
              "(failback hold 3 s)")
        self.until("the failback hook reported success",
                   lambda: L.value(m(), "mxsense_hook_runs_total", hook="switchover",
                                   event="domain_failback", result="success") == 1)
        runs = L.value(m(), "mxsense_hook_runs_total", hook="switchover")
        self.assertEqual(runs, 1)  # the restarted agent ran only the failback


if __name__ == "__main__":
    unittest.main()
