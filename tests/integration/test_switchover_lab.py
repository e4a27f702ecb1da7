"""scripts/mx-switchover against a real primary granting a TSIG key MX changes at the apex and
TXT at _mxsense (BIND 9 update-policy; Knot ACL) and a real BIND 9 secondary fed by NOTIFY/IXFR,
in network namespaces; then the whole loop: SMTP traffic, the primary MX fails, the agent's hook
switches the MX records, and back. Every result is read back with dig/nsupdate, not the script.

MXSENSE_SWITCHOVER=PATH runs the same tests against another copy of the script (an older one,
to see which tests fail on it).
"""
import os
import re
import shutil
import subprocess
import time
import unittest

import lab as L

NS1, NS2, MX1, MX2 = "198.18.0.20", "198.18.0.21", "198.18.0.10", "198.18.0.11"
MX3 = "198.18.0.12"
SWITCHOVER = os.environ.get("MXSENSE_SWITCHOVER") or os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "mx-switchover")
ORIGINAL = [(10, "mx1.example.test."), (20, "mx2.example.test.")]
SWAPPED = [(10, "mx2.example.test."), (20, "mx1.example.test.")]
RECORD = "_mxsense.example.test."
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
mx3     A   {MX3}
"""


def fields_mx(fields, key):
    """The MX records of one kind in the record's TXT strings ('original=10 mx1.example.test.'),
    after checking its first string names the format."""
    assert fields and fields[0] == "mxsense-switchover=2", fields
    return sorted((int(v.split()[0]), v.split()[1]) for f in fields if f.startswith(key + "=")
                  for v in [f[len(key) + 1:]])


class SwitchoverTests:
    """The tests, for a primary that start_primary() starts on NS1 (BIND or Knot)."""

    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (NS1, NS2, MX1, MX2):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        cls.key = lab.tsig_key()
        cls.wrong_key = lab.tsig_key(tag="wrong")  # same name, another secret
        cls.start_primary(lab, cls.key)
        lab.start_bind(NS2, primary=NS1)
        cls.state = os.path.join(lab.tmp, "state")

    def setUp(self):
        self.assertEqual(self.mx(NS1), ORIGINAL)
        self.assertEqual(self.record(NS1), None)
        self.wait_in_sync()

    def tearDown(self):
        if self.mx(NS1) != ORIGINAL or self.record(NS1) is not None:
            self.put_back()  # a failed test leaves no change for the next one
        for d in ("state", "agent-a", "agent-b"):
            shutil.rmtree(os.path.join(self.lab.tmp, d), ignore_errors=True)

    # ---- helpers -------------------------------------------------------------

    def dig(self, server, rtype):
        r = self.lab.client.run("dig", "+norecurse", "+noall", "+answer", f"@{server}",
                                "example.test", rtype)
        return [line.split(None, 4) for line in r.stdout.splitlines() if line.strip()]

    def mx(self, server):
        return sorted((int(f[4].split()[0]), f[4].split()[1]) for f in self.dig(server, "MX"))

    def record(self, server):
        """The TXT strings at _mxsense (mx-switchover's record), or None when there is none."""
        r = self.lab.client.run("dig", "+norecurse", "+noall", "+answer", f"@{server}", RECORD,
                                "TXT")
        rrs = [line for line in r.stdout.splitlines() if line.strip()]
        self.assertLessEqual(len(rrs), 1, rrs)
        return re.findall(r'"([^"]*)"', rrs[0]) if rrs else None

    def recorded(self, server):
        """(original, set) of the record, read with dig."""
        fields = self.record(server)
        self.assertIsNotNone(fields, f"no record at {RECORD} on {server}")
        return fields_mx(fields, "original"), fields_mx(fields, "set")

    def mx_ttl(self, server):
        return {int(f[1]) for f in self.dig(server, "MX")}

    def serial(self, server):
        return int(self.dig(server, "SOA")[0][4].split()[2])

    def wait_in_sync(self, seconds=10):
        L.until(lambda: self.serial(NS1) == self.serial(NS2) and self.mx(NS1) == self.mx(NS2)
                and self.record(NS1) == self.record(NS2),
                seconds, "the secondary in sync with the primary", interval=0.2,
                detail=lambda: f"serials {self.serial(NS1)} {self.serial(NS2)}")

    def switchover(self, *args, env=None, key=None, state=None):
        cmd = [SWITCHOVER, "--zone", "example.test", "--server", NS1, "--key-file",
               key or self.key, "--state-dir", state or self.state, "--verify-timeout", "10",
               *args]
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

    def put_back(self):
        """The zone as the class started it, whatever a test left (nsupdate, not the script)."""
        self.signed_update("update delete example.test. MX",
                           *[f"update add example.test. 300 MX {p} {h}" for p, h in ORIGINAL],
                           f"update delete {RECORD} TXT")
        self.wait_in_sync()

    def operator_sets(self, records):
        """The operator's own change of the MX RRset (nsupdate -k), waited for on both."""
        r = self.signed_update("update delete example.test. MX",
                               *[f"update add example.test. 300 MX {p} {h}" for p, h in records])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.wait_in_sync()
        self.assertEqual(self.mx(NS2), records)

    # ---- the script ------------------------------------------------------------

    def test_promote_then_restore_idempotent_and_verified(self):
        r = self.switchover("promote", "mx2.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in (NS1, NS2):  # the script verified both; check independently
            self.assertEqual(self.mx(s), SWAPPED, s)
        self.assertIn(f"verified on ns2.example.test. ({NS2})", r.stderr)
        self.wait_in_sync()
        for s in (NS1, NS2):  # the original and the set it made, in the zone, in one serial
            self.assertEqual(self.recorded(s), (ORIGINAL, SWAPPED), s)
        serial = self.serial(NS1)
        again = self.switchover("promote", "mx2.example.test")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to change", again.stderr)
        self.assertEqual(self.serial(NS1), serial)
        r = self.switchover("restore")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_in_sync()
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), ORIGINAL, s)
            self.assertIsNone(self.record(s), s)
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
        # set ends a failover with the recorded TTL too
        r = self.switchover("promote", "mx2.example.test", "--failover-ttl", "30")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.switchover("set", "10 mx1.example.test, 20 mx2.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_in_sync()
        self.assertEqual(self.mx_ttl(NS2), {300})
        self.assertIsNone(self.record(NS2))

    def test_dry_run_prints_the_update_and_changes_nothing(self):
        serial = self.serial(NS1)
        r = self.switchover("promote", "mx2.example.test", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("prereq yxrrset example.test. IN MX 10 mx1.example.test.", r.stdout)
        self.assertIn("prereq yxrrset example.test. IN MX 20 mx2.example.test.", r.stdout)
        self.assertIn("update add example.test. 300 IN MX 10 mx2.example.test.", r.stdout)
        self.assertIn(f"prereq nxrrset {RECORD} IN TXT", r.stdout)
        self.assertIn(f'update add {RECORD} 300 IN TXT "mxsense-switchover=2" "ttl=300" '
                      '"original=10 mx1.example.test." "original=20 mx2.example.test." '
                      '"set=10 mx2.example.test." "set=20 mx1.example.test." "by=', r.stdout)
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
        self.assertRegex(r.stdout + r.stderr, "REFUSED|NOTAUTH")  # BIND | Knot
        self.assert_unchanged(serial)

    def test_wrong_key_is_refused(self):
        serial = self.serial(NS1)
        r = self.switchover("promote", "mx2.example.test", key=self.wrong_key)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("TSIG", r.stderr)
        self.assert_unchanged(serial)
        # The refused promote left no original behind: after the operator's own change, a
        # restore (the agent's failback) keeps that change.
        operator = [(10, "mx1.example.test."), (30, "mx2.example.test.")]
        try:
            self.operator_sets(operator)
            serial = self.serial(NS1)
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("nothing to restore", r.stderr)
            self.assert_unchanged(serial, operator)
        finally:
            self.put_back()

    # ---- one original for every agent, in the zone ---------------------------------

    def hook(self, agent, event, to=None):
        """mx-switchover as agent's hook runs it: its own state directory, the event's env."""
        env = {"MXSENSE_EVENT": event, "MXSENSE_DOMAIN": "example.test"}
        if to:
            env["MXSENSE_TO"] = to
        r = self.lab.client.run(SWITCHOVER, "--server", NS1, "--key-file", self.key,
                                "--state-dir", os.path.join(self.lab.tmp, agent),
                                "--verify-timeout", "10", check=False, timeout=60,
                                env={**os.environ, **env})
        self.assertEqual(r.returncode, 0, f"{agent} {event}: {r.stderr}")
        self.wait_in_sync()
        return r

    def test_two_agents_agree_on_one_original(self):
        """A promotes mx2, B promotes mx3, A fails back, then B: the original set, no record.
        (The old script: B saved A's failover as its original and put it back at the end.)"""
        three = ORIGINAL + [(30, "mx3.example.test.")]
        a_set = [(10, "mx2.example.test."), (20, "mx1.example.test."), (30, "mx3.example.test.")]
        b_set = [(10, "mx3.example.test."), (20, "mx2.example.test."), (30, "mx1.example.test.")]
        self.operator_sets(three)
        records = {}  # asserted after the outcome, so the old script fails on the outcome
        self.hook("agent-a", "domain_failover", "mx2.example.test")
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), a_set, s)
        records["after A"] = self.record(NS2)
        self.hook("agent-b", "domain_failover", "mx3.example.test")
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), b_set, s)
        records["after B"] = self.record(NS2)
        self.hook("agent-a", "domain_failback")
        for s in (NS1, NS2):
            self.assertEqual(self.mx(s), three, s)
        serial = self.serial(NS1)
        r = self.hook("agent-b", "domain_failback")
        self.assert_unchanged(serial, three)
        self.assertIn("nothing to restore", r.stderr)
        for s in (NS1, NS2):
            self.assertIsNone(self.record(s), s)
        # On the way: A recorded the original; B kept it and recorded its own set.
        for step, made in (("after A", a_set), ("after B", b_set)):
            fields = records[step] or []
            self.assertEqual((fields_mx(fields, "original"), fields_mx(fields, "set")),
                             (three, made), step)

    def test_restore_never_overwrites_a_change_it_did_not_make(self):
        r = self.switchover("promote", "mx2.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        operator = [(10, "mx2.example.test."), (40, "mx1.example.test.")]
        try:
            self.operator_sets(operator)  # during the failover, by hand
            serial = self.serial(NS1)
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 6, r.stderr)
            self.assertIn("restore refused: the MX RRset is 10 mx2.example.test., 40 "
                          "mx1.example.test., not the 10 mx2.example.test., 20 mx1.example.test."
                          " mxsense set", r.stderr)
            # The operator's change stands; the record is removed, so no later promote takes
            # its original for the operator's order.
            self.wait_in_sync()
            for s in (NS1, NS2):
                self.assertEqual(self.mx(s), operator, s)
                self.assertIsNone(self.record(s), s)
            self.assertGreater(self.serial(NS1), serial)
            # The operator may still put an order back with set.
            r = self.switchover("set", "10 mx1.example.test, 20 mx2.example.test")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.wait_in_sync()
            for s in (NS1, NS2):
                self.assertEqual(self.mx(s), ORIGINAL, s)
                self.assertIsNone(self.record(s), s)
        finally:
            self.put_back()

    def test_a_change_during_the_failover_becomes_the_original(self):
        """Changed by hand during a failover, the MX RRset is the operator's latest order: the
        next promote records it as the original, and the restore puts it back."""
        r = self.switchover("promote", "mx2.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        operator = [(10, "mx2.example.test."), (20, "mx1.example.test."),
                    (30, "mx3.example.test.")]
        try:
            self.operator_sets(operator)
            r = self.switchover("promote", "mx3.example.test")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.wait_in_sync()
            made = [(10, "mx3.example.test."), (20, "mx2.example.test."),
                    (30, "mx1.example.test.")]
            self.assertEqual(self.recorded(NS2), (operator, made))
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.wait_in_sync()
            for s in (NS1, NS2):
                self.assertEqual(self.mx(s), operator, s)
                self.assertIsNone(self.record(s), s)
        finally:
            self.put_back()

    def test_a_foreign_record_is_not_trusted(self):
        """A TXT at _mxsense that is not mxsense's authenticated record: restore refuses and
        leaves it (exit 6); promote replaces it with its own record, the MX RRset as read
        being the original."""
        r = self.signed_update(f'update add {RECORD} 300 TXT "v=something-else"')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        try:
            self.wait_in_sync()
            serial = self.serial(NS1)
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 6, r.stderr)
            self.assertIn(f"the TXT at {RECORD} is not mxsense's record", r.stderr)
            self.assert_unchanged(serial)
            self.assertEqual(self.record(NS1), ["v=something-else"])
            r = self.switchover("promote", "mx2.example.test")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.wait_in_sync()
            self.assertEqual(self.recorded(NS2), (ORIGINAL, SWAPPED))
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.wait_in_sync()
            self.assertEqual((self.mx(NS2), self.record(NS2)), (ORIGINAL, None))
        finally:
            self.put_back()

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
            # The refused promote left no original behind: a restore keeps the change.
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("nothing to restore", r.stderr)
            self.assert_unchanged(serial, concurrent)
            self.assertIsNone(self.record(NS1))
        finally:
            self.put_back()

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


class SwitchoverLab(SwitchoverTests, unittest.TestCase):
    """A BIND 9 primary (update-policy) and a BIND 9 secondary."""

    @classmethod
    def start_primary(cls, lab, key):
        lab.start_bind(NS1, zone_text=ZONE, key_file=key, secondaries=(NS2,))


class SwitchoverKnotLab(SwitchoverTests, unittest.TestCase):
    """A Knot primary (TSIG ACL) and a BIND 9 secondary: the cases where the server's handling
    of the UPDATE decides the outcome (TSIG, prerequisites, the record, TTLs, notify to the
    secondary). The script's own logic (dry run, refusals before any UPDATE, foreign records,
    hook environment) is the same against any server and runs once, against BIND, above (more
    of it, on one BIND primary without a secondary: tests/scripts/test_mx_switchover.py):
    these names are not collected here (unittest collects only callables), which keeps the
    suite's time."""

    test_dry_run_prints_the_update_and_changes_nothing = None
    test_as_a_hook = None
    test_a_change_during_the_failover_becomes_the_original = None
    test_a_foreign_record_is_not_trusted = None
    test_deleting_every_mx_is_refused = None
    test_null_mx_is_refused = None
    test_promoting_a_name_without_address_is_refused = None

    @classmethod
    def start_primary(cls, lab, key):
        lab.start_knot_primary(NS1, ZONE, key, secondaries=(NS2,))


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
            # ends, so at two more than now the second began after the first ended, after the
            # switch: one whole round read the switched records.
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
