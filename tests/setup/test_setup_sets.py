"""scripts/setup's package sets: what `--print SET` lists, checked against the packages themselves.

Runs as an unprivileged user (nobody when started as root): listing a set must need no root and
install nothing. The package facts (units, init scripts, Provides) come from dpkg, not from the
script. As root, InterruptedInstall runs the script's install on a throwaway overlay of this
host's root with local packages (no network): units are masked before their package is unpacked.
"""
import os
import re
import shutil
import subprocess
import tempfile
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

    def test_test_set_includes_the_package_set(self):
        """The suite builds the Debian package (packaging.deb): the test set brings what that
        needs, and the package set alone is only that (no server)."""
        pkgs, package = set(listed("test")), listed("package")
        for p in ("debhelper", "dpkg-dev", "pandoc", "lintian", "mmdebstrap", "systemd-container"):
            self.assertIn(p, package)
        self.assertLessEqual(set(package), pkgs)
        self.assertFalse(SERVERS & set(package))

    def test_default_is_build_and_run_and_all_is_every_set(self):
        self.assertEqual(listed(), listed("build", "run"))
        union = []
        for s in ("build", "run", "test", "package", "bench"):
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


# Three local packages for an install that fails part way: sfsvc ships a service its postinst
# enables (what dh_installsystemd writes), sfstatic a static one, sffail depends on both and
# its postinst fails while /etc/sf-fail exists (after sfsvc was configured and enabled).
SVC_POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
	deb-systemd-helper unmask 'sfsvc.service' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'sfsvc.service'; then
		deb-systemd-helper enable 'sfsvc.service' >/dev/null || true
	else
		deb-systemd-helper update-state 'sfsvc.service' >/dev/null || true
	fi
fi
"""
PACKAGES = {
    "sfsvc": ({"lib/systemd/system/sfsvc.service":
               "[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n"
               "[Install]\nWantedBy=multi-user.target\nAlias=sfsvc-alias.service\n"},
              "", SVC_POSTINST),
    "sfstatic": ({"lib/systemd/system/sfstatic.service":
                  "[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n"}, "", None),
    "sffail": ({}, "sfsvc, sfstatic",
               "#!/bin/sh\nset -e\nif [ -e /etc/sf-fail ]; then echo 'sffail: fails'; exit 1; fi\n"),
}
STATE = r"""
for u in sfsvc.service sfstatic.service; do echo "$u $(systemctl is-enabled $u 2>/dev/null)"; done
echo "links $(find /etc/systemd/system -name 'sf*' -printf '%P>%l ' | tr '\n' ' ')"
echo "pending $(cat /var/lib/mxsense/setup-masked 2>/dev/null | xargs)"
"""


class InterruptedInstall(unittest.TestCase):
    """scripts/setup (its test set replaced by the local packages above) on a throwaway
    overlay of this host's root, in a private mount namespace under chroot, with real apt,
    dpkg, deb-systemd-helper and systemctl (offline, as in any chroot). The first install
    fails after sfsvc's postinst ran (which enables it): sfsvc must be masked already (the old
    script masked only after a successful install, and a rerun saw sfsvc as the host's). A
    rerun that succeeds leaves sfsvc masked with no enablement link, sfstatic static (not
    masked), nothing pending."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("*** SKIPPED: a throwaway root needs root ***")
        cls.tmp = tempfile.mkdtemp(prefix="mxsense-setup-sets-")
        os.chmod(cls.tmp, 0o755)  # apt reads the repository as _apt
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        repo = os.path.join(cls.tmp, "repo")
        for name, (files, depends, postinst) in PACKAGES.items():
            d = os.path.join(cls.tmp, "build", name)
            os.makedirs(os.path.join(d, "DEBIAN"))
            control = (f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
                       f"Maintainer: mxsense tests <tests@example.test>\n"
                       f"Description: scripts/setup test package\n")
            if depends:
                control += f"Depends: {depends}\n"
            with open(os.path.join(d, "DEBIAN", "control"), "w") as f:
                f.write(control)
            if postinst:
                with open(os.path.join(d, "DEBIAN", "postinst"), "w") as f:
                    f.write(postinst)
                os.chmod(os.path.join(d, "DEBIAN", "postinst"), 0o755)
            for path, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
                with open(os.path.join(d, path), "w") as f:
                    f.write(text)
            os.makedirs(repo, exist_ok=True)
            subprocess.run(["dpkg-deb", "--root-owner-group", "--build", d,
                            os.path.join(repo, f"{name}_1.0_all.deb")],
                           check=True, capture_output=True)
        with open(os.path.join(repo, "Packages"), "w") as f:
            subprocess.run(["dpkg-scanpackages", "."], cwd=repo, stdout=f, check=True,
                           stderr=subprocess.DEVNULL)
        with open(SETUP) as f:
            script = f.read()
        script, n = re.subn(r"(?ms)^test=\(\n.*?^\)\n", "test=(sffail)\n", script)
        assert n == 1, "no test=( ... ) set in scripts/setup"
        with open(os.path.join(cls.tmp, "setup"), "w") as f:
            f.write(script)
        os.chmod(os.path.join(cls.tmp, "setup"), 0o755)
        t = cls.tmp
        os.makedirs(os.path.join(t, "layer"))
        os.makedirs(os.path.join(t, "mnt"))
        # The overlay's upper layer is a tmpfs (it may not lie inside its lower layer, /);
        # the namespace lives as long as the holder process.
        mounts = (f"set -e; mount -t tmpfs mxs-setup {t}/layer; mkdir {t}/layer/u {t}/layer/w; "
                  f"mount -t overlay mxs-setup -o lowerdir=/,upperdir={t}/layer/u,"
                  f"workdir={t}/layer/w {t}/mnt; mount -t proc proc {t}/mnt/proc; "
                  f"mount --bind /dev {t}/mnt/dev; mount -t tmpfs run {t}/mnt/run; "
                  "echo ready; exec sleep 3600")
        cls.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                       "sh", "-c", mounts], stdout=subprocess.PIPE, text=True)
        cls.addClassCleanup(cls.stop_holder)
        if cls.holder.stdout.readline().strip() != "ready":
            raise AssertionError("the throwaway root did not come up")
        cls.root("rm -f /etc/apt/sources.list.d/* /var/lib/apt/lists/*Packages* "
                 f"&& echo 'deb [trusted=yes] file:{repo} ./' >/etc/apt/sources.list "
                 "&& rm -f /usr/sbin/policy-rc.d && cp " + os.path.join(t, "setup") +
                 " /root/setup && touch /etc/sf-fail")

    @classmethod
    def stop_holder(cls):
        cls.holder.kill()
        cls.holder.wait()

    @classmethod
    def root(cls, script, check=True):
        r = subprocess.run(["nsenter", "-t", str(cls.holder.pid), "-m", "chroot",
                            os.path.join(cls.tmp, "mnt"), "/bin/sh", "-c", script],
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"in root: {script!r}: exit {r.returncode}\n{r.stdout[-3000:]}"
                                 f"\n{r.stderr[-3000:]}")
        return r

    def state(self):
        return {key: value.strip() for key, _, value in
                (line.partition(" ") for line in self.root(STATE).stdout.splitlines())}

    def test_failed_install_leaves_nothing_enabled_and_a_rerun_settles(self):
        self.assertEqual(self.state()["sfsvc.service"], "", "sfsvc is on this host already")
        r = self.root("PATH=/usr/sbin:/usr/bin:/sbin:/bin /root/setup test", check=False)
        log = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, log)
        self.assertIn("sffail: fails", log)
        state = self.state()
        self.assertEqual(state["sfsvc.service"], "masked", f"{state}\n{log[-3000:]}")
        self.assertIn("masked before it, and kept masked until a rerun settles them", log)
        self.root("rm /etc/sf-fail")
        r = self.root("PATH=/usr/sbin:/usr/bin:/sbin:/bin /root/setup test", check=False)
        log = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, log)
        state = self.state()
        self.assertEqual((state["sfsvc.service"], state["sfstatic.service"]),
                         ("masked", "static"), f"{state}\n{log[-3000:]}")
        self.assertEqual(state["links"].split(), ["sfsvc.service>/dev/null"], state)
        self.assertEqual(state["pending"], "")
        self.assertIn("disabled and masked; 'systemctl unmask' undoes): sfsvc.service", log)


if __name__ == "__main__":
    unittest.main()
