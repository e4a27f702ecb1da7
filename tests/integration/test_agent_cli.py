"""The agent's life cycle and its errors: one clear line and a non-zero exit, never a crash;
SIGTERM and SIGKILL leave nothing attached."""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import lab as L


def agent(*args, prefix=(), timeout=30):
    return subprocess.run([*prefix, L.MXSENSE, *args], capture_output=True, text=True,
                          timeout=timeout)


class AgentCli(unittest.TestCase):
    def test_help_for_every_subcommand(self):
        for args in (["--help"], ["agent", "--help"]):
            r = agent(*args)
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage:", r.stdout)
        self.assertIn("--interface", agent("agent", "--help").stdout)

    def test_bad_options(self):
        r = agent("agent", "--listen", "nowhere")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(),
                         "mxsense agent: --listen: 'nowhere': expected ADDR:PORT or [V6ADDR]:PORT")
        r = agent("agent", "--no-such-flag")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--no-such-flag", r.stderr)


    def test_check_config(self):
        cfg = os.path.join(os.path.dirname(__file__), "..", "config")
        r = agent("check-config", os.path.join(cfg, "good.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip().endswith("good.yaml: ok"))
        r = agent("check-config", os.path.join(cfg, "bad-unknown-key.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(),
                         os.path.join(cfg, "bad-unknown-key.yaml") + ":4: dns.timeuot: unknown key")
        # Likely mistakes are warnings on stderr; the file is still ok (and `dns_type: mx` fine).
        warn = os.path.join(cfg, "warn-shared-address.yaml")
        r = agent("check-config", warn)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), warn + ": ok")
        self.assertEqual(r.stderr.splitlines(), [
            warn + ":6: warning: domains[0].mx[1].addresses[0]: MX hosts mx1.example.test and "
            "mx2.example.test of example.test share the address 198.18.0.10: they are judged "
            "alike, and a failover between them cannot help",
            warn + ":10: warning: probes.targets[0].address: 198.18.0.54: not a judged DNS "
            "server (not in dns_servers, and no domain is authoritative): the entry has no "
            "effect"])
        r = agent("check-config", os.path.join(cfg, "bad-domain-twice.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), os.path.join(cfg, "bad-domain-twice.yaml") +
                         ":4: domains[1].name: 'Example.Test.' is listed twice (as "
                         "'example.test'; DNS names ignore case and the final dot)")
        r = agent("agent", "--config", os.path.join(cfg, "bad-type.yaml"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad-type.yaml:2: dns.timeout: expected a number from 0.001 to 3600 seconds, got 'soon'", r.stderr)

    def test_check_config_gives_the_systems_reason(self):
        """Files the user cannot read, with the system's reason (strerror, here Python's
        os.strerror), as user nobody (root reads whatever the mode): the configuration (0600),
        the webhook's token file (0600) naming its key and line. A hook program that cannot be
        run and an interface this host lacks are warnings with their key and line: the file is
        still ok (exit 0)."""
        d = tempfile.mkdtemp(prefix="cf-reason-")
        nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        try:
            os.chmod(d, 0o755)

            def write(name, text, mode):
                path = os.path.join(d, name)
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, mode)
                return path
            denied = os.strerror(errno.EACCES)
            secret = write("secret.yaml", "listen: 127.0.0.1:10053\n", 0o600)
            r = agent("check-config", secret, prefix=nobody)
            self.assertEqual((r.returncode, r.stderr.strip()),
                             (1, f"{secret}: cannot read it: {denied}"))
            token = write("token", "0123456789abcdef0123\n", 0o600)
            webhook = write("webhook.yaml", "hooks:\n  - {name: h, events: [], argv: [/bin/true]}"
                            f"\nwebhook:\n  enabled: true\n  token_file: {token}\n  hook: h\n",
                            0o644)
            r = agent("check-config", webhook, prefix=nobody)
            self.assertEqual((r.returncode, r.stderr.strip()),
                             (1, f"{webhook}:5: webhook.token_file: {token}: cannot read it: "
                                 f"{denied}"))
            self.assertEqual(agent("check-config", webhook).returncode, 0)  # root reads it
            plain = write("plain-hook", "#!/bin/sh\n", 0o644)
            later = write("later.yaml", f"""interfaces: [lo, mxs-nosuch0]
hooks:
  - name: plain
    events: [target_down]
    argv: [{plain}]
  - name: missing
    events: [target_down]
    argv: [{d}/not-yet]
""", 0o644)
            for who in ((), nobody):
                r = agent("check-config", later, prefix=who)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), later + ": ok")
                self.assertEqual(r.stderr.splitlines(), [
                    f"{later}:1: warning: interfaces[1]: 'mxs-nosuch0': no such interface on this "
                    "host now (the agent does not start without it)",
                    f"{later}:5: warning: hooks[0].argv[0]: hook 'plain': cannot run '{plain}': "
                    f"{denied} (each run fails until it can)",
                    f"{later}:8: warning: hooks[1].argv[0]: hook 'missing': cannot run "
                    f"'{d}/not-yet': {os.strerror(errno.ENOENT)} (each run fails until it can)"])
        finally:
            shutil.rmtree(d)

    def test_check_config_refuses_what_is_no_regular_file(self):
        """A link to /dev/zero, a FIFO, a directory, a file over the 1 MiB limit: each fails
        within a second with one line naming the file and what is wrong. Old code: /dev/zero
        read 2.9 GB in 20 s, the FIFO blocked in open(2) until the timeout, the directory
        and the 2 MiB file of comments were "ok"."""
        d = tempfile.mkdtemp(prefix="cf-check-")
        try:
            zero, fifo, big = (os.path.join(d, n) for n in ("zero.yaml", "fifo.yaml", "big.yaml"))
            os.symlink("/dev/zero", zero)
            os.mkfifo(fifo)
            with open(big, "w") as f:
                f.write(("#" * 1023 + "\n") * 2048)  # 2 MiB of comments: valid YAML
            cases = [(zero, zero + ": not a regular file but a character device"),
                     (fifo, fifo + ": not a regular file but a FIFO"),
                     (d, d + ": not a regular file but a directory"),
                     (big, big + ": larger than the limit of 1048576 bytes")]
            for path, want in cases:
                with self.subTest(path=path):
                    t0 = time.monotonic()
                    try:
                        r = agent("check-config", path, timeout=5)
                    except subprocess.TimeoutExpired:
                        self.fail(f"check-config {path}: still running after 5 s")
                    took = time.monotonic() - t0
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    self.assertEqual(r.stderr.strip(), want)
                    self.assertLess(took, 1.0)
        finally:
            shutil.rmtree(d)


class AgentLifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)

    def in_client(self, *args, **kw):
        return agent(*args, prefix=("ip", "netns", "exec", self.lab.client.name), **kw)

    def errors(self, r):
        return [line for line in r.stderr.splitlines() if " error " in line]

    @staticmethod
    def programs_of(p):
        """IDs of the BPF programs the agent process holds (from its fds' fdinfo)."""
        ids = set()
        fd_dir = f"/proc/{p.pid}/fdinfo"
        for fd in os.listdir(fd_dir):
            try:
                with open(os.path.join(fd_dir, fd)) as f:
                    for line in f:
                        if line.startswith("prog_id:"):
                            ids.add(int(line.split()[1]))
            except OSError:
                pass
        return ids

    def attached(self, programs=()):
        """XDP on the interface, or one of `programs` (the agent's own, taken while it ran)
        still loaded: a live tcx link would hold its program. Other agents on the machine
        (other tests, a soak) have programs of the same names: only these IDs count."""
        link = self.lab.client.run("ip", "-d", "link", "show", "dev", self.lab.client_if).stdout
        loaded = {p["id"] for p in json.loads(L.run("bpftool", "-j", "prog", "show").stdout)}
        return "prog/xdp" in link or bool(loaded & set(programs))

    def test_unknown_interface(self):
        r = self.in_client("agent", "--interface", "nosuch0")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(self.errors(r)), 1, r.stderr)
        self.assertIn("unknown interface 'nosuch0'", r.stderr)

    def test_json_log_lines(self):
        """--log-format json (or log_format: json): one JSON object per line, time in UTC, the
        message escaped (the interface name carries a quote)."""
        r = self.in_client("agent", "--log-format", "json", "--interface", 'no"such0')
        self.assertEqual(r.returncode, 1)
        lines = [json.loads(line) for line in r.stderr.splitlines()]
        errors = [x for x in lines if x["level"] == "error"]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertEqual(errors[0]["message"], "unknown interface 'no\"such0'")
        self.assertRegex(errors[0]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        r = agent("agent", "--log-format", "xml")
        self.assertEqual((r.returncode, r.stderr.strip()),
                         (2, "mxsense agent: --log-format: 'xml': expected auto, text, journal or json"))

    def test_busy_port(self):
        p = self.lab.start_agent(self.lab.client, self.lab.client_if, port=10060)
        try:
            r = self.in_client("agent", "--interface", self.lab.client_if, "--listen", "127.0.0.1:10060")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(len(self.errors(r)), 1, r.stderr)
            self.assertIn("cannot listen on 127.0.0.1:10060", r.stderr)
        finally:
            self.assertEqual(self.lab.stop(p), 0)

    def test_missing_privileges(self):
        r = agent("agent", "--interface", self.lab.client_if, "--listen", "127.0.0.1:10061",
                  prefix=("ip", "netns", "exec", self.lab.client.name, "setpriv",
                                   "--reuid=65534", "--regid=65534", "--clear-groups"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(self.errors(r)), 1, r.stderr)
        self.assertIn("insufficient privileges", r.stderr)

    def test_missing_btf(self):
        empty = os.path.join(self.lab.tmp, "nobtf")
        os.makedirs(empty, exist_ok=True)
        # Hide the kernel's BTF in a private mount namespace (inside the netns: ip netns exec
        # mounts its own /sys).
        r = subprocess.run(["ip", "netns", "exec", self.lab.client.name, "unshare", "-m", "sh", "-c",
                            f"mount --bind {empty} /sys/kernel/btf && exec {L.MXSENSE} agent "
                            f"-i {self.lab.client_if} --listen 127.0.0.1:10062"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(self.errors(r)), 1, r.stderr)
        self.assertIn("exposes no BTF", r.stderr)

    def test_config_file_and_overrides(self):
        path = os.path.join(self.lab.tmp, "agent.yaml")
        with open(path, "w") as f:
            f.write(f"interfaces: [{self.lab.client_if}]\nlisten: 127.0.0.1:10065\n"
                    f"state_file: {self.lab.tmp}/state.json\n"
                    "dns:\n  ports: [5353]\n")
        # The file chooses the interface and the DNS port; the command line moves the listener.
        p = self.lab.start_agent_config(self.lab.client, path, 10066,
                                        "--listen", "127.0.0.1:10066")
        try:
            m = L.scrape(self.lab.client, 10066)
            self.assertEqual(L.value(m, "mxsense_sensor_attach_mode", interface=self.lab.client_if,
                                     hook="xdp"), 1)
        finally:
            self.assertEqual(self.lab.stop(p), 0)

    def test_sighup_reload(self):
        path = os.path.join(self.lab.tmp, "reload.yaml")

        def write(domain, extra=""):
            with open(path, "w") as f:
                f.write(f"interfaces: [{self.lab.client_if}]\nlisten: 127.0.0.1:10067\n"
                        f"state_file: {self.lab.tmp}/state.json\n"
                        f"dns_servers: [198.18.0.2]\n{extra}domains:\n  - name: {domain}\n"
                        f"    mx:\n      - {{host: mx.{domain}, addresses: [198.18.0.10]}}\n")

        def targets():
            m = L.scrape(self.lab.client, 10067)
            names = {dict(ls)["target"] for (n, ls), v in m.items() if n == "mxsense_target_state"}
            return m, names

        def hup_and_wait(reloads_before):
            os.kill(p.pid, signal.SIGHUP)

            def reacted():
                m, names = targets()
                if (L.value(m, "mxsense_config_reloads_total") > reloads_before
                        or L.value(m, "mxsense_config_last_reload_successful") == 0):
                    return m, names
                return None
            return L.until(reacted, 5, "the agent reacted to SIGHUP")

        def reload_figures(m):
            return [L.value(m, f"mxsense_config_{n}") for n in (
                "last_reload_successful", "reloads_total", "reload_failures_total")]

        write("one.test")
        started = time.time()
        p = self.lab.start_agent_config(self.lab.client, path, 10067)
        try:
            m, names = targets()
            self.assertEqual(names, {"mx.one.test", "198.18.0.2"})
            self.assertEqual(reload_figures(m), [1, 0, 0])
            # The configuration read at the start is the first "reload", as in Prometheus.
            read_at = L.value(m, "mxsense_config_last_reload_success_timestamp_seconds")
            self.assertTrue(started <= read_at <= time.time(), (started, read_at))
            write("two.test", extra="verdicts: {window: nope}\n")  # bad: kept the old one
            m, names = hup_and_wait(0)
            self.assertEqual(reload_figures(m), [0, 0, 1])
            self.assertEqual(
                L.value(m, "mxsense_config_last_reload_success_timestamp_seconds"), read_at)
            self.assertEqual(names, {"mx.one.test", "198.18.0.2"})
            write("two.test")
            hup = time.time()
            m, names = hup_and_wait(0)
            self.assertEqual(reload_figures(m), [1, 1, 1])
            read_at = L.value(m, "mxsense_config_last_reload_success_timestamp_seconds")
            self.assertTrue(hup <= read_at <= time.time(), (hup, read_at))
            self.assertEqual(names, {"mx.two.test", "198.18.0.2"})
        finally:
            self.assertEqual(self.lab.stop(p), 0)
        self.assertIn("reload failed, the running configuration stays", self.lab.log(p))
        # What a reload takes away is named (a file saved half-written may still parse).
        self.assertIn(f"reload: {path} removes domain one.test;", self.lab.log(p))

    def test_exposition_passes_promtool_and_tells_the_truth(self):
        """A running agent's /metrics: `promtool check metrics` finds nothing (a counter
        without _total, a family without help would fail it); mxsense_build_info names this
        tree's version and a commit of its repository, the libbpf the process mapped and the
        kernel; process_* match what /proc shows of the agent's pid from outside; discovery
        counts each domain's rounds by result against a real Knot: ok, nxdomain (a name its
        zone does not have), refused (a zone it does not serve)."""
        lab = self.lab
        knot = lab.start_knot("$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n"
                       "@ NS ns1\nns1 A 198.18.0.2\n@ MX 10 mx1\nmx1 A 198.18.0.10\n")
        path = os.path.join(lab.tmp, "exposition.yaml")
        with open(path, "w") as f:
            f.write(f"interfaces: [{lab.client_if}]\nlisten: 127.0.0.1:10071\n"
                    f"state_file: {lab.tmp}/state-exposition.json\n"
                    # One probe round (at the start): fewer sockets coming and going between
                    # the agent's count of its descriptors and this test's.
                    f"dns_servers: [{lab.SERVER4}]\naudit: {{interval: 0}}\n"
                    "probes: {interval: 3600}\n"
                    "discovery: {min_refresh: 1, retry: 1}\ndomains:\n"
                    "  - {name: example.test, mx: discover}\n"
                    "  - {name: nosuch.example.test, mx: discover}\n"
                    "  - {name: elsewhere.test, mx: discover}\n")
        before = time.time()
        p = lab.start_agent_config(lab.client, path, 10071)
        try:
            def scraped():
                r = lab.client.run("curl", "-sf", "http://127.0.0.1:10071/metrics")
                return r.stdout, L.parse_metrics(r.stdout)

            def rounds(m, domain, result):
                return L.value(m, "mxsense_discovery_lookups_total", domain=domain,
                               result=result)

            L.until(lambda: all(rounds(scraped()[1], d, r) >= 1 for d, r in (
                ("example.test", "ok"), ("nosuch.example.test", "nxdomain"),
                ("elsewhere.test", "refused"))), 20, "a discovery round of each domain")
            body, m = scraped()
            lint = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual((lint.returncode, lint.stdout + lint.stderr), (0, ""))

            # Every result of every domain from the first round on; none but the right one.
            results = {"ok", "nxdomain", "servfail", "refused", "timeout", "unreachable", "error"}
            for domain, result in (("example.test", "ok"), ("nosuch.example.test", "nxdomain"),
                                   ("elsewhere.test", "refused")):
                got = {dict(ls)["result"]: v for (n, ls), v in m.items()
                       if n == "mxsense_discovery_lookups_total" and dict(ls)["domain"] == domain}
                self.assertEqual(set(got), results, domain)
                self.assertEqual({r for r, v in got.items() if v > 0}, {result}, (domain, got))

            info = [dict(ls) for (n, ls), v in m.items() if n == "mxsense_build_info" and v == 1]
            self.assertEqual(len(info), 1, info)
            info = info[0]
            root = os.path.join(os.path.dirname(__file__), "..", "..")
            with open(os.path.join(root, "CMakeLists.txt")) as f:
                version = re.search(r"project\(mxsense VERSION ([0-9.]+)", f.read()).group(1)
            self.assertEqual(info["version"], version)
            # A commit of this repository; "unknown" only where git could not say (no git, or
            # a tree outside one: a package built from a tarball passes -DMXS_REVISION).
            git = shutil.which("git")
            if info["revision"] == "unknown":
                self.assertFalse(git and subprocess.run(
                    [git, "-C", root, "rev-parse", "HEAD"], capture_output=True).returncode == 0)
            else:
                commit = info["revision"].removesuffix("-dirty")
                self.assertEqual(subprocess.run([git, "-C", root, "cat-file", "-e",
                                                 f"{commit}^{{commit}}"]).returncode, 0, info)
            with open(f"/proc/{p.pid}/maps") as f:
                mapped = re.search(r"/libbpf\.so\.(\d+)\.(\d+)", f.read())
            self.assertEqual(info["libbpf"], f"{mapped.group(1)}.{mapped.group(2)}")
            self.assertEqual(info["kernel"], os.uname().release)

            # process_*, against /proc/PID read from here right after the scrape.
            fds = len(os.listdir(f"/proc/{p.pid}/fd"))
            with open(f"/proc/{p.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f)
            with open(f"/proc/{p.pid}/limits") as f:
                limits = {line[:26].strip(): line[26:].split()[0] for line in f}
            with open(f"/proc/{p.pid}/stat") as f:
                ticks = f.read().rsplit(")", 1)[1].split()
            cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")

            def limit(name):
                v = limits[name]
                return 2.0 ** 64 - 1 if v == "unlimited" else float(v)

            def kib(key):
                return int(status[key].split()[0]) * 1024

            got = {n: v for (n, ls), v in m.items() if n.startswith("process_")}
            self.assertEqual(set(got), {
                "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
                "process_virtual_memory_bytes", "process_virtual_memory_max_bytes",
                "process_resident_memory_bytes", "process_start_time_seconds"})
            # The scrape's own connection was open while the agent counted.
            self.assertLessEqual(abs(got["process_open_fds"] - fds), 2, (got, fds))
            self.assertGreater(fds, 10)  # its BPF maps, programs and links alone
            # (prometheus-cpp writes 16 significant digits: 2^64 - 1 ends ...955e+19)
            for metric, name in (("process_max_fds", "Max open files"),
                                 ("process_virtual_memory_max_bytes", "Max address space")):
                self.assertAlmostEqual(got[metric], limit(name), delta=limit(name) * 1e-15)
            self.assertLess(abs(got["process_virtual_memory_bytes"] - kib("VmSize")),
                            0.05 * kib("VmSize"))
            self.assertLess(abs(got["process_resident_memory_bytes"] - kib("VmRSS")),
                            0.1 * kib("VmRSS"))
            # Read from here after the scrape: as much or more, by less than a second.
            self.assertTrue(0 <= cpu - got["process_cpu_seconds_total"] < 1, (cpu, got))
            # Started by this test (whole seconds of boot time: one second either way).
            self.assertTrue(before - 1 <= got["process_start_time_seconds"] <= time.time() + 1,
                            (before, got["process_start_time_seconds"]))
        finally:
            self.assertEqual(lab.stop(p), 0)
            lab.stop(knot)  # the other tests' 198.18.0.2 answers nothing

    def scrape_within(self, port, seconds=3):
        """The agent's metrics, or AssertionError when it does not answer within `seconds`
        (an agent whose only thread is stuck answers never)."""
        r = self.lab.client.run("curl", "-sf", "--max-time", str(seconds),
                                f"http://127.0.0.1:{port}/metrics", check=False)
        self.assertEqual(r.returncode, 0, f"no answer from :{port} within {seconds} s")
        return L.parse_metrics(r.stdout)

    def test_state_file_fifo_and_reload_of_a_fifo(self):
        """state_file a FIFO: the agent starts, answers scrapes, logs that the file is no
        regular file, and leaves the FIFO alone. Then the configuration is replaced by a
        FIFO and SIGHUP'd: the reload fails (logged), the agent keeps answering. Old code:
        the start blocked in open(2) of the FIFO after binding the port (the start timed out),
        and a SIGHUP blocked the agent's one thread (scrapes got no answer)."""
        state = os.path.join(self.lab.tmp, "state-fifo")
        os.mkfifo(state)
        path = os.path.join(self.lab.tmp, "fifo-state.yaml")
        with open(path, "w") as f:
            f.write(f"interfaces: [{self.lab.client_if}]\nlisten: 127.0.0.1:10068\n"
                    f"state_file: {state}\nverdicts: {{window: 1}}\n")
        p = self.lab.start_agent_config(self.lab.client, path, 10068)
        try:
            self.scrape_within(10068)
            self.assertIn(f"state_file {state}: not a regular file but a FIFO; ignored",
                          self.lab.log(p))
            # The first window writes the state: refused, once, the FIFO left as it is.
            L.until(lambda: f"{state}: not a regular file but a FIFO; not replaced"
                    in self.lab.log(p), 5, "the refused state write logged")
            self.assertTrue(os.path.exists(state) and
                            os.stat(state).st_mode & 0o170000 == 0o010000, "still a FIFO")
            os.remove(path)
            os.mkfifo(path)
            os.kill(p.pid, signal.SIGHUP)
            L.until(lambda: L.value(self.scrape_within(10068),
                                    "mxsense_config_last_reload_successful") == 0,
                    5, "the reload of a FIFO failed")
            self.scrape_within(10068)
        finally:
            self.assertEqual(self.lab.stop(p), 0)
        log = self.lab.log(p)
        self.assertIn(f"reload failed, the running configuration stays: {path}: not a regular "
                      "file but a FIFO", log)
        self.assertEqual(log.count("not replaced"), 1, log)

    def test_state_file_link_or_open_directory_is_neither_trusted_nor_written(self):
        """A state_file that is a symbolic link (to a root-owned file), or that lies in a
        directory others can write without the sticky bit: the agent neither reads nor writes
        it, and says why. Old code: the link's target was replaced by the state (any file the
        agent could write, chosen by whoever could write the directory), and a file planted
        in an open directory was trusted at start (a failover that never happened)."""
        victim = os.path.join(self.lab.tmp, "victim")
        with open(victim, "w") as f:
            f.write("important\n")
        open_dir = os.path.join(self.lab.tmp, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        # Review finding: a file another user planted in a sticky directory (/tmp's kind), or
        # any file in a directory another user owns, was trusted.
        sticky_dir = os.path.join(self.lab.tmp, "sticky")
        os.mkdir(sticky_dir)
        os.chmod(sticky_dir, 0o1777)
        foreign_dir = os.path.join(self.lab.tmp, "foreign")
        os.mkdir(foreign_dir, 0o755)
        os.chown(foreign_dir, 4321, 4321)
        cases = ((os.path.join(self.lab.tmp, "link.json"), "a symbolic link; name the file itself"),
                 (os.path.join(open_dir, "state.json"),
                  f"its directory {open_dir} is writable by others (mode 777, no sticky bit)"),
                 (os.path.join(sticky_dir, "state.json"), "belongs to uid 4321, neither root nor "
                  "the agent's user (uid 0): another user may have written it"))
        os.symlink(victim, cases[0][0])
        planted = ('{"failed_over": {"example.test": {"to": "mx2.example.test", '
                   '"order": ["mx1.example.test"]}}}')
        for state, _ in cases[1:]:
            with open(state, "w") as f:
                f.write(planted)
        os.chown(cases[2][0], 4321, 4321)
        # A root-owned file in another user's directory: not trusted; the agent (uid 0 without
        # capabilities once attached) cannot write there either, and stops at start.
        foreign_state = os.path.join(foreign_dir, "state.json")
        with open(foreign_state, "w") as f:
            f.write(planted)
        path = os.path.join(self.lab.tmp, "foreign-state.yaml")
        with open(path, "w") as f:
            f.write(f"interfaces: [{self.lab.client_if}]\nlisten: 127.0.0.1:10069\n"
                    f"state_file: {foreign_state}\n")
        r = self.lab.client.run(L.MXSENSE, "agent", "--config", path, check=False, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"state_file {foreign_state}: its directory {foreign_dir} belongs to uid "
                      "4321, neither root nor the agent's user (uid 0): its owner can replace the "
                      "file; ignored", r.stdout + r.stderr)
        self.assertNotIn("failed over before this start", r.stdout + r.stderr)
        for i, (state, why) in enumerate(cases):
            with self.subTest(state=state):
                path = os.path.join(self.lab.tmp, f"unsafe-state-{i}.yaml")
                with open(path, "w") as f:
                    f.write(f"interfaces: [{self.lab.client_if}]\nlisten: 127.0.0.1:10069\n"
                            f"state_file: {state}\nverdicts: {{window: 1}}\n")
                p = self.lab.start_agent_config(self.lab.client, path, 10069)
                try:
                    self.scrape_within(10069)
                    L.until(lambda: f"{state}: {why}; not written" in self.lab.log(p), 5,
                            "the refused state write logged")
                finally:
                    self.assertEqual(self.lab.stop(p), 0)
                log = self.lab.log(p)
                self.assertIn(f"state_file {state}: {why}; ignored", log)
                self.assertNotIn("failed over before this start", log)
        with open(victim) as f:
            self.assertEqual(f.read(), "important\n", "the link's target was written")

    def test_sigterm_detaches_and_exits_zero(self):
        p = self.lab.start_agent(self.lab.client, self.lab.client_if, port=10063)
        progs = self.programs_of(p)
        self.assertGreaterEqual(len(progs), 2, progs)  # XDP and TC at least
        self.assertTrue(self.attached(progs))
        self.assertEqual(self.lab.stop(p, signal.SIGTERM), 0)
        self.assertIn("detached from every interface", self.lab.log(p))
        self.assertFalse(self.attached(progs))

    def test_sigkill_leaves_nothing_the_next_start_cannot_replace(self):
        p = self.lab.start_agent(self.lab.client, self.lab.client_if, port=10064)
        killed = self.programs_of(p)
        self.lab.stop(p, signal.SIGKILL)
        p = self.lab.start_agent(self.lab.client, self.lab.client_if, port=10064)
        progs = self.programs_of(p)
        try:
            self.assertTrue(self.attached(progs))
            self.assertFalse(killed & {q["id"] for q in json.loads(
                L.run("bpftool", "-j", "prog", "show").stdout)}, "the killed agent's programs")
        finally:
            self.assertEqual(self.lab.stop(p), 0)
        self.assertFalse(self.attached(progs))


if __name__ == "__main__":
    unittest.main()
