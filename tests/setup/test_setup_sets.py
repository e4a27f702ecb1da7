"""scripts/setup's package sets: what `--print SET` lists, checked against the packages themselves.

Runs as an unprivileged user (nobody when started as root): listing a set must need no root and
install nothing. The package facts (units, init scripts, Provides) come from dpkg, not from the
script.
"""
import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.environ.get("MXS_SETUP", os.path.join(ROOT, "scripts", "setup"))

# Daemons a host may run itself: no build or run package may be (or replace) one of them.
SERVERS = {"bind9", "knot", "knot-resolver", "unbound", "nsd", "pdns-server", "dnsmasq",
           "postfix", "exim4", "exim4-daemon-light", "exim4-daemon-heavy", "sendmail",
           "opensmtpd", "prometheus", "prometheus-alertmanager", "chromium"}


def setup(*args):
    """scripts/setup ARGS as nobody (or as the caller when not root); (exit code, stdout, stderr)."""
    cmd = [SETUP, *args]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def listed(*sets):
    code, out, err = setup("--print", *sets)
    if code != 0:
        raise AssertionError(f"setup --print {' '.join(sets)}: exit {code}: {err.strip()}")
    return out.split()


def dpkg_files(pkg):
    r = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
    return r.stdout.splitlines() if r.returncode == 0 else None


class SetSelection(unittest.TestCase):
    def test_run_and_build_list_no_server(self):
        for s in ("run", "build"):
            pkgs = listed(s)
            self.assertTrue(pkgs, s)
            self.assertEqual(len(pkgs), len(set(pkgs)), f"{s} lists a package twice")
            self.assertFalse(SERVERS & set(pkgs), f"{s} lists a server package")

    def test_run_and_build_packages_ship_no_service_and_no_mta(self):
        """dpkg's own word for every build/run package installed here: no unit, no init script,
        not a mail-transport-agent (which would replace the host's)."""
        unit = re.compile(r"^(/usr)?/lib/systemd/system/[^/]+\.(service|socket|timer|path)$")
        checked = 0
        for pkg in listed("build", "run"):
            files = dpkg_files(pkg)
            if files is None:
                continue  # not installed on this machine: the throwaway-root test covers it
            checked += 1
            shipped = [f for f in files if unit.match(f) or f.startswith("/etc/init.d/")]
            self.assertEqual(shipped, [], f"{pkg} ships a service")
            provides = subprocess.run(["dpkg-query", "-W", "-f=${Provides}", pkg],
                                      capture_output=True, text=True).stdout
            self.assertNotIn("mail-transport-agent", provides, pkg)
        self.assertGreater(checked, 0, "no build/run package installed to check")

    def test_test_set_has_the_servers_the_tests_start(self):
        pkgs = set(listed("test"))
        for p in ("bind9", "knot", "postfix", "prometheus", "prometheus-alertmanager"):
            self.assertIn(p, pkgs)

    def test_default_is_build_and_run_and_all_is_every_set(self):
        self.assertEqual(listed(), listed("build", "run"))
        union = []
        for s in ("build", "run", "test", "bench"):
            union += [p for p in listed(s) if p not in union]
        self.assertEqual(listed("all"), union)

    def test_unknown_set_is_a_usage_error(self):
        code, out, err = setup("--print", "run", "servers")
        self.assertEqual(code, 2)
        self.assertEqual(out, "")
        self.assertIn("'servers'", err)

    def test_callers_ask_for_their_sets(self):
        """run-agent installs build and run only; scripts/test adds test."""
        def asked(script):
            with open(os.path.join(ROOT, script)) as f:
                calls = [line.split()[1:] for line in f if line.startswith("scripts/setup")]
            self.assertEqual(len(calls), 1, script)
            return calls[0]
        self.assertEqual(asked("scripts/run-agent"), ["build", "run"])
        self.assertEqual(asked("scripts/test"), ["build", "run", "test"])


if __name__ == "__main__":
    unittest.main()
