"""Least privilege (issue 12) in network namespaces: once the sensor is attached the agent holds
no capability in any set (effective, permitted, inheritable, ambient, bounding) and has
no_new_privs; a hook it runs (before and after a reload) has none either. The agent still scrapes
(the kernel's counts of the probes' SYNs equal a capture's), probes out of the watched interface
(SO_BINDTODEVICE: a route sends the targets into a dead end), fails over, writes its state file
and reloads. Three ways to start: as root; as root with `user:` (a throwaway system user); and
as packaging/mxsense.service does, as that user with only the unit's ambient capabilities.
Unknown users and groups, and a state directory the user cannot write, are refused clearly.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import lab as L

PORT = 10091
MX1, MX2, MX3, MX4 = "198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13"
# MX1 and MX3: nothing listens (RST); MX2 and MX4: smtp-sink.
USER = f"pv-mxs{os.getpid() % 100000}"
# What packaging/mxsense.service gives the agent to start with.
UNIT_CAPS = "+bpf,+perfmon,+net_admin,+setpcap"
# After attaching: nothing at all, for the agent and its hooks.
NOTHING = {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0, "NoNewPrivs": 1}

ZONE = f"""$ORIGIN example.test.
$TTL 60
@    SOA ns1 hostmaster 1 60 60 3600 60
@    NS  ns1
ns1  A   {L.Lab.SERVER4}
"""


def setUpModule():
    L.require_root(None)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", USER], check=True, capture_output=True)
    unittest.addModuleCleanup(
        lambda: subprocess.run(["userdel", USER], check=False, capture_output=True))


def proc_status(text):
    """The fields of a /proc/PID/status text that say who a process is: capability sets as
    integers, NoNewPrivs, and the four uids and gids."""
    f = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    out = {k: int(f[k].strip(), 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    out["NoNewPrivs"] = int(f["NoNewPrivs"])
    out["Uid"] = [int(x) for x in f["Uid"].split()]
    out["Gid"] = [int(x) for x in f["Gid"].split()]
    return out


def read_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return proc_status(f.read())


class PrivilegesBase:
    """The scenario; subclasses say how the agent starts and as whom."""

    user = None          # `user:` in the configuration
    ambient_start = False  # started as USER with the unit's ambient capabilities

    @classmethod
    def setUpClass(cls):
        cls.lab = lab = L.Lab.for_test_class(cls)
        srv, cli = lab.server, lab.client
        for a in (MX1, MX2, MX3, MX4):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        lab.start_knot(ZONE)
        for a in (MX2, MX4):
            lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
        # Every target is routed into a dead end (a veth pair inside the client): only probes
        # pinned to the watched interface reach them.
        cli.run("ip", "link", "add", "decoy0", "type", "veth", "peer", "name", "decoy1")
        for ifname in ("decoy0", "decoy1"):
            cli.run("ip", "link", "set", ifname, "up")
        for a in (MX1, MX2, MX3, MX4, lab.SERVER4):
            cli.run("ip", "route", "add", f"{a}/32", "dev", "decoy0")
        # The user must read the configuration (reload) and reach the state and hook directories.
        os.chmod(lab.tmp, 0o755)
        cls.uid = pwd.getpwnam(USER).pw_uid if (cls.user or cls.ambient_start) else 0
        cls.gid = pwd.getpwnam(USER).pw_gid if (cls.user or cls.ambient_start) else 0
        cls.hooks = os.path.join(lab.tmp, "hooks")
        os.mkdir(cls.hooks)
        os.chown(cls.hooks, cls.uid, cls.gid)
        cls.state_dir = os.path.join(lab.tmp, "state")
        if cls.ambient_start:  # as StateDirectory= makes it
            os.mkdir(cls.state_dir, 0o750)
            os.chown(cls.state_dir, cls.uid, cls.gid)
        cls.cfg = os.path.join(lab.tmp, "agent.yaml")
        cls.write_config(reloaded=False)
        cls.before_start()
        cmd = [L.MXSENSE, "agent", "--config", cls.cfg]
        if cls.ambient_start:
            cmd = ["prlimit", "--memlock=8388608", "setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups",
                   f"--inh-caps=-all,{UNIT_CAPS}", f"--ambient-caps=-all,{UNIT_CAPS}",
                   f"--bounding-set=-all,{UNIT_CAPS}", *cmd]
        cls.agent = lab.start(cli, *cmd, ready=lambda: lab.serves_metrics(cli, PORT))

    @classmethod
    def before_start(cls):
        pass

    @classmethod
    def write_config(cls, reloaded):
        lab = cls.lab
        # The hook writes its own /proc/self/status (sh execs cp: the same process).
        def hook(name, events):
            return (f"  - {{name: {name}, events: [{events}], timeout: 5, cooldown: 0, "
                    f"retries: 0, argv: [/bin/sh, -c, 'exec cp /proc/self/status "
                    f"\"$0/{name}-$MXSENSE_TARGET.status\"', {cls.hooks}]}}\n")
        text = f"""interfaces: [{lab.client_if}]
{"xdp_mode: generic" if reloaded else ""}
listen: 127.0.0.1:{PORT}
state_file: {cls.state_dir}/state.json
{f"user: {cls.user}" if cls.user else ""}
dns_servers: [{lab.SERVER4}]
verdicts: {{window: 1, rise: 1, fall: 1, hold_down: 0, failback_hold: 3600}}
probes: {{interval: 1, timeout: 0.8, ehlo_name: probe.test,
         targets: [{{address: {lab.SERVER4}, role: authoritative, name: example.test}}]}}
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
"""
        if reloaded:  # a new domain whose primary refuses: it fails over, with a new runner
            text += f"""  - name: example.org
    mx:
      - {{host: mx3.example.org, addresses: [{MX3}]}}
      - {{host: mx4.example.org, addresses: [{MX4}]}}
"""
        text += "hooks:\n" + hook("failover", "domain_failover")
        with open(cls.cfg, "w") as f:
            f.write(text)
        os.chmod(cls.cfg, 0o644)

    def until(self, what, check, seconds=20):
        return self.lab.until_status(self.lab.client, PORT, self.agent, check, seconds, what,
                                     interval=0.3)

    def hook_status(self, name):
        path = os.path.join(self.hooks, name)
        L.until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, 20,
                f"the hook to write {name}", detail=lambda: self.lab.log(self.agent)[-3000:])
        with open(path) as f:
            return proc_status(f.read())

    def assertNothingHeld(self, st, who):
        self.assertEqual({k: st[k] for k in NOTHING}, NOTHING, who)
        self.assertEqual(st["Uid"], [self.uid] * 4, who)
        self.assertEqual(st["Gid"], [self.gid] * 4, who)

    def test_1_agent_holds_nothing_after_attach(self):
        with open(f"/proc/{self.agent.pid}/comm") as f:
            self.assertEqual(f.read().strip(), "mxsense")
        self.assertNothingHeld(read_status(self.agent.pid), "agent")
        for task in os.listdir(f"/proc/{self.agent.pid}/task"):  # capabilities are per thread
            self.assertNothingHeld(read_status(f"{self.agent.pid}/task/{task}"), f"task {task}")
        if self.ambient_start:  # no CAP_SYS_RESOURCE, and 51 MiB of maps under this limit
            with open(f"/proc/{self.agent.pid}/limits") as f:
                memlock = next(l for l in f if l.startswith("Max locked memory")).split()[3:5]
            self.assertEqual(memlock, ["8388608", "8388608"])
        log = self.lab.log(self.agent)
        self.assertIn(f"privileges: running as uid {self.uid} gid {self.gid}", log)
        self.assertIn("capabilities kept: none", log)
        self.assertIn("bounding set empty", log)

    def test_2_probes_scrapes_failover_state_and_hook(self):
        lab = self.lab
        # Judged by probes alone (the routes lead elsewhere): MX1 refuses, MX2 and Knot answer.
        self.until("mx1 DOWN, mx2 and the DNS server HEALTHY, failed over to mx2",
                   lambda s: {t["target"]: t["state"] for t in s["targets"]} ==
                   {"mx1.example.test": "DOWN", "mx2.example.test": "HEALTHY",
                    lab.SERVER4: "HEALTHY"} and s["domains"][0]["failover_active"])
        m = L.scrape(lab.client, PORT)
        for kind, target in (("smtp", MX2), ("dns_udp", lab.SERVER4), ("dns_tcp", lab.SERVER4)):
            self.assertGreater(L.value(m, "mxsense_probe_runs_total", kind=kind, target=target,
                                       result="ok"), 0, (kind, target))
        # The kernel's count (read through the map descriptors the agent kept) against the wire.
        cap = lab.start_capture(lab.server, lab.server_if,
                                f"dst host {MX2} and tcp dst port 25 and "
                                "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn")
        before = L.scrape(lab.client, PORT)
        time.sleep(4)  # the scenario: four probe rounds
        after = L.scrape(lab.client, PORT)
        syns = cap.count()
        conns = L.delta(before, after, "mxsense_smtp_connections_total", server=MX2,
                        role="client", outcome="established")
        self.assertGreaterEqual(conns, 3)
        self.assertLessEqual(abs(syns - conns), 1, (syns, conns))
        self.assertGreater(L.delta(before, after, "mxsense_dns_queries_total",
                                   server=lab.SERVER4, role="client"), 0)
        # The failover hook ran with nothing.
        self.assertNothingHeld(self.hook_status("failover-mx1.example.test.status"),
                               "failover hook")
        # The state file, written after the drop, by the agent's own uid.
        path = os.path.join(self.state_dir, "state.json")
        L.until(lambda: os.path.exists(path), 10, "the state file")
        with open(path) as f:
            self.assertEqual(json.load(f)["failed_over"]["example.test"]["to"],
                             "mx2.example.test")
        self.assertEqual(os.stat(path).st_uid, self.uid)

    def test_3_reload_and_a_hook_after_it(self):
        lab = self.lab
        self.write_config(reloaded=True)
        os.kill(self.agent.pid, signal.SIGHUP)
        self.until("the reloaded domain failed over to mx4",
                   lambda s: [(d["domain"], d["failover_active"]) for d in s["domains"]] ==
                   [("example.test", True), ("example.org", True)])
        m = L.scrape(lab.client, PORT)
        self.assertEqual(L.value(m, "mxsense_config_reloads_total"), 1)
        self.assertEqual(L.value(m, "mxsense_config_last_reload_successful"), 1)
        # Without privileges, no longer dumpable: its own /proc/self/fd still lists (the
        # kernel lets a process read its own), so process_open_fds stays (the scrape's own
        # connection was open while it counted).
        fds = len(os.listdir(f"/proc/{self.agent.pid}/fd"))
        self.assertLessEqual(abs(L.value(m, "process_open_fds") - fds), 2, fds)
        self.assertGreater(fds, 10)
        self.assertNothingHeld(self.hook_status("failover-mx3.example.org.status"),
                               "hook after reload")
        self.assertNothingHeld(read_status(self.agent.pid), "agent after reload")
        log = lab.log(self.agent)
        # What needs re-attaching is named and kept (a reload has no capability to).
        self.assertIn("reload: xdp_mode change only with a restart", log)
        self.assertNotIn("Operation not permitted", log)
        self.assertNotIn("Permission denied", log)

    def test_9_sigterm_detaches_without_privileges(self):
        lab = self.lab
        self.assertEqual(lab.stop(self.agent), 0, lab.log(self.agent)[-2000:])
        self.assertIn("detached from every interface", lab.log(self.agent))
        shown = lab.client.run("bpftool", "net", "show", "dev", lab.client_if).stdout
        self.assertNotIn("mxs_", shown)


class RootAgent(PrivilegesBase, unittest.TestCase):
    """Started as root, no `user:`: uid 0, but no capability and no_new_privs."""


class UserAgent(PrivilegesBase, unittest.TestCase):
    """Started as root with `user:` a system user, whose state directory the agent makes."""

    user = USER

    @classmethod
    def before_start(cls):
        # A state directory the user cannot write: refused at start, naming it.
        os.mkdir(cls.state_dir, 0o755)
        r = cls.lab.client.run(L.MXSENSE, "agent", "--config", cls.cfg, check=False, timeout=60)
        cls.refused = (r.returncode, r.stderr + r.stdout)
        os.rmdir(cls.state_dir)  # the agent makes it, for the user

    def test_0_unwritable_state_directory_is_refused(self):
        rc, out = self.refused
        self.assertEqual(rc, 1, out)
        self.assertIn(f"state_file {self.state_dir}/state.json: its directory {self.state_dir} "
                      f"is not writable by uid {self.uid}", out)

    def test_4_state_directory_made_for_the_user(self):
        st = os.stat(self.state_dir)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (self.uid, self.gid, 0o750))


class UnitStart(PrivilegesBase, unittest.TestCase):
    """Started as packaging/mxsense.service starts it: as USER with CAP_BPF, CAP_PERFMON,
    CAP_NET_ADMIN and CAP_SETPCAP ambient and bounding, and no CAP_SYS_RESOURCE under an
    8 MiB RLIMIT_MEMLOCK (the maps take 51 MiB: BPF memory is charged to the cgroup)."""

    ambient_start = True

    def test_0_unit_capabilities_match(self):
        with open(os.path.join(os.path.dirname(__file__), "../../packaging/mxsense.service")) as f:
            unit = f.read()
        caps = "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SETPCAP"
        self.assertIn(f"\nCapabilityBoundingSet={caps}\n", unit)
        self.assertIn(f"\nAmbientCapabilities={caps}\n", unit)


class UnknownAccounts(unittest.TestCase):
    """Unknown users and groups: one line naming them, before anything is loaded."""

    def setUp(self):
        L.require_root(self)
        self.tmp = tempfile.mkdtemp(prefix="pv-priv-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def run_mxsense(self, *args):
        r = L.run(L.MXSENSE, *args, check=False)
        return r.returncode, r.stdout + r.stderr

    def test_config_file(self):
        # Each error at the line of the key it is about.
        for text, want in (("user: pv-no-such-user\n", ":1: user 'pv-no-such-user': no such user"),
                           (f"user: {USER}\ngroup: pv-no-such-group\n",
                            ":2: group 'pv-no-such-group': no such group"),
                           ("group: nogroup\n", ":1: group: 'nogroup': needs a user to switch to")):
            path = os.path.join(self.tmp, "agent.yaml")
            with open(path, "w") as f:
                f.write(text)
            self.assertEqual(self.run_mxsense("check-config", path), (1, f"{path}{want}\n"))
        with open(path, "w") as f:
            f.write(f"user: {USER}\ngroup: nogroup\n")
        self.assertEqual(self.run_mxsense("check-config", path), (0, f"{path}: ok\n"))

    def test_command_line(self):
        self.assertEqual(self.run_mxsense("agent", "--user", "pv-no-such-user"),
                         (2, "mxsense agent: --user: user 'pv-no-such-user': no such user\n"))
        rc, out = self.run_mxsense("agent", "--help")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"--user TEXT\s+Run as this user")


if __name__ == "__main__":
    unittest.main()
