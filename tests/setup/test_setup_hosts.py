"""scripts/setup on hosts that run their own mail and DNS service, in throwaway Debian roots.

A base root (Debian bookworm minbase with systemd, BIND enabled and exim4 as the MTA, built once
by mmdebstrap from Debian's archive and kept under MXSENSE_BUILD/setup-roots) stands for the host.
Every case runs on an overlay of it that is thrown away afterwards, with scripts/setup copied in
and run under chroot in a private mount namespace. The host's state before and after comes from
dpkg and systemctl inside the root, not from the script:

- exim4 and BIND: `setup run` (and `setup build run` with MXS_SETUP_TEST_BUILD=1, what
  scripts/run-agent installs; about 1 GB) removes, upgrades or changes no package, and leaves
  every unit's enablement, the rc.d links and /etc/exim4, /etc/bind as they were.
- exim4: `setup test` is refused (postfix would replace exim4), naming exim4, changing nothing.
- BIND, no MTA: `setup test` leaves named enabled and unmasked (the host's), and every unit the
  install newly created and enabled (knot, postfix, prometheus, prometheus-alertmanager)
  disabled and masked. Installs the whole test set in the root: slow (MXS_SETUP_TEST_FULL=1).
- BIND older than the archive: `setup run` is refused (bind9-dnsutils would upgrade the host's
  bind9 through bind9-libs), changing nothing.

Needs root, mmdebstrap and Debian's archive. MXS_SETUP=path runs another setup script (the old
one, to see these fail). Nothing runs outside the root: package scripts there start no daemon (a
policy-rc.d while the root is prepared; scripts/setup's own while it installs).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.environ.get("MXS_SETUP", os.path.join(ROOT, "scripts", "setup"))
BUILD = os.environ.get("MXSENSE_BUILD", os.path.join(ROOT, "build"))
BASES = os.path.join(BUILD, "setup-roots")
BASE_PACKAGES = ["systemd", "bind9", "exim4-daemon-light"]
HOST_ETC = ["/etc/exim4", "/etc/bind", "/etc/default/named", "/etc/default/exim4"]
NO_START = "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d"
# The host's state: packages with version and status, every unit file's state, what each
# init script's service reports, every link under /etc/systemd/system and /etc/rc?.d, and
# checksums of the mail and DNS configuration.
SNAPSHOT = r"""
echo '# packages'
dpkg-query -W -f '${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' | sort
echo '# units'
systemctl list-unit-files --no-legend --no-pager | awk '{print $1, $2}' | sort
echo '# init scripts'
for s in $(ls /etc/init.d); do echo "$s $(systemctl is-enabled $s.service 2>/dev/null | tail -1)"; done
echo '# links'
find /etc/systemd/system /etc/rc?.d -printf '%p %l\n' | sort
echo '# config'
find %s -type f -exec md5sum {} + 2>/dev/null | sort -k 2
""".replace("%s", " ".join(HOST_ETC))


def sh(*cmd, timeout=600, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


def parse(snapshot):
    """'# section' blocks of lines -> {section: {key: rest of line}}."""
    out, cur = {}, None
    for line in snapshot.splitlines():
        if line.startswith("# "):
            cur = out.setdefault(line[2:], {})
        elif line.strip():
            key, _, rest = line.partition(" ")
            cur[key] = rest
    return out


def base_root():
    """The cached base root (built on first use: minutes)."""
    name = "bookworm-" + "-".join(BASE_PACKAGES)
    path = os.path.join(BASES, name)
    stamp = os.path.join(path, ".complete")
    # A week at most: the cases bring the root up to date first, and that stays short.
    if os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < 7 * 86400:
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(BASES, exist_ok=True)
    # Debs this machine already has are linked in, only to spare downloads.
    hook = ('mkdir -p "$1"/var/cache/apt/archives && '
            'for f in /var/cache/apt/archives/*.deb; do [ -e "$f" ] && '
            'ln "$f" "$1"/var/cache/apt/archives/ 2>/dev/null; done; true')
    sh("mmdebstrap", "--mode=root", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
       "--skip=cleanup/apt/lists", "--setup-hook=" + hook, "bookworm", path, timeout=1800)
    open(os.path.join(path, ".complete"), "w").close()
    return path


class Host:
    """A throwaway overlay of the base root; run() executes a shell script inside it."""

    def __init__(self, base):
        self.base = base
        self.tmp = tempfile.mkdtemp(prefix="mxsense-setup-")
        for d in ("upper", "work", "mnt"):
            os.mkdir(os.path.join(self.tmp, d))
        os.makedirs(os.path.join(self.tmp, "upper", "root"))
        shutil.copy(SETUP, os.path.join(self.tmp, "upper", "root", "setup"))

    def run(self, script, timeout=600, check=True):
        t = self.tmp
        inner = (f"set -e; mount -t overlay mxsense-setup -o lowerdir={self.base},"
                 f"upperdir={t}/upper,workdir={t}/work {t}/mnt; mount -t proc proc {t}/mnt/proc; "
                 f'exec chroot {t}/mnt /bin/sh -c "$1"')
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner,
                            "sh", script], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"in root: {script!r}: exit {r.returncode}\n{r.stdout[-3000:]}"
                                 f"\n{r.stderr[-3000:]}")
        return r

    def snapshot(self):
        return parse(self.run(SNAPSHOT).stdout)

    def setup(self, *sets, timeout=3600):
        r = self.run("PATH=/usr/sbin:/usr/bin:/sbin:/bin /root/setup " + " ".join(sets),
                     timeout=timeout, check=False)
        log = r.stdout + r.stderr
        # setup's own lines (what it installs, refuses, masks) for the test's output
        said, refusal = [], False
        for line in log.splitlines():
            if line.startswith("scripts/setup"):
                refusal = "refused" in line
                said.append(line)
            elif refusal and line.startswith("  "):
                said.append(line)
        print(f"\n[setup {' '.join(sets)}: exit {r.returncode}]", *said, sep="\n", file=sys.stderr)
        return r.returncode, log

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class SetupOnAHostWithItsOwnServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("*** SKIPPED: throwaway roots need root ***")
        if not shutil.which("mmdebstrap"):
            raise unittest.SkipTest("*** SKIPPED: no mmdebstrap (scripts/setup test) ***")
        cls.base = base_root()

    def host(self, current=False):
        """A throwaway host; current: upgraded to the archive's versions first, as a kept host
        is (else a newer bind9 in the archive would rightly make setup refuse)."""
        h = Host(self.base)
        self.addCleanup(h.close)
        if current:
            h.run(NO_START + "; apt-get update -q && apt-get upgrade -y -q; "
                  "rm /usr/sbin/policy-rc.d", timeout=1800)
        return h

    def assertUnchanged(self, before, after, log):
        """Every package, unit state, init script state, link and config file of `before`
        is in `after` as it was (new ones may be added)."""
        for section, entries in before.items():
            for key, value in entries.items():
                self.assertEqual(after.get(section, {}).get(key), value,
                                 f"{section}: {key} was '{value}'\n--- setup said:\n{log[-4000:]}")

    def assertNothingNewEnabled(self, before, after):
        """No unit file and no init script that the install added is enabled. (A new rc.d link
        may be: procps' init script gets one, inert under systemd, whose procps.service is an
        alias of its own systemd-sysctl.service.)"""
        for section in ("units", "init scripts"):
            new = {u: s for u, s in after[section].items() if u not in before[section]}
            self.assertEqual({u: s for u, s in new.items() if s.startswith("enabled")}, {},
                             f"{section} the install left enabled")

    def test_host_state_is_what_the_base_promises(self):
        state = self.host().snapshot()
        self.assertIn("exim4-daemon-light:amd64", state["packages"])
        self.assertEqual(state["units"]["named.service"], "enabled")
        self.assertEqual(state["init scripts"]["exim4"], "enabled")

    def test_run_set_changes_no_package_or_service(self):
        sets = ["build", "run"] if os.environ.get("MXS_SETUP_TEST_BUILD") else ["run"]
        h = self.host(current=True)
        before = h.snapshot()
        code, log = h.setup(*sets)
        self.assertEqual(code, 0, log)
        after = h.snapshot()
        self.assertUnchanged(before, after, log)
        # python3-dnspython is Architecture: all (dpkg names it so).
        self.assertIn("python3-dnspython:all", after["packages"], "the run set was not installed")
        self.assertNothingNewEnabled(before, after)

    def test_test_set_refused_where_postfix_would_replace_exim4(self):
        h = self.host()
        before = h.snapshot()
        code, log = h.setup("test")
        self.assertNotEqual(code, 0, log)
        self.assertRegex(log, r"refused.*\n(.*\n)*  remove: .*\bexim4-daemon-light\b")
        self.assertIn("exim4-daemon-light is this host's mail server", log)
        self.assertEqual(h.snapshot(), before, log)

    def test_out_of_date_bind9_is_not_upgraded_by_the_run_set(self):
        """A host whose BIND is older than the archive: the run set (no DNS package since
        mx-switchover moved to dnspython) leaves it at its version; the test set, which has
        bind9, is refused rather than upgrade the host's server. The old version is written into
        dpkg's status: apt then plans as on a host that has not upgraded."""
        h = self.host()
        # Every package of source bind9 (and the exact-version dependencies between them).
        h.run("v=$(dpkg-query -W -f '${Version}' bind9); "
              "sed -i \"s/$v/1:9.18.19-1~deb12u1/g\" /var/lib/dpkg/status; apt-get check -q")
        before = h.snapshot()
        self.assertEqual(before["packages"]["bind9:amd64"].split()[0], "1:9.18.19-1~deb12u1")
        code, log = h.setup("run")
        self.assertEqual(code, 0, log)
        after = h.snapshot()
        self.assertEqual(after["packages"]["bind9:amd64"], before["packages"]["bind9:amd64"], log)
        self.assertUnchanged(before, after, log)
        code, log = h.setup("test")
        self.assertNotEqual(code, 0, log)
        self.assertRegex(log, r"refused")
        self.assertEqual(h.snapshot(), after, log)

    @unittest.skipUnless(os.environ.get("MXS_SETUP_TEST_FULL"),
                         "the whole test set in a root (~1.5 GB, tens of minutes): MXS_SETUP_TEST_FULL=1")
    def test_test_set_masks_only_the_units_it_created(self):
        h = self.host(current=True)
        h.run(NO_START + "; apt-get purge -y -q exim4-base exim4-config exim4-daemon-light; "
              "rm -f /usr/sbin/policy-rc.d", timeout=600)
        before = h.snapshot()
        self.assertNotIn("exim4-daemon-light:amd64", before["packages"])
        code, log = h.setup("build", "run", "test", timeout=5400)
        self.assertEqual(code, 0, log)
        after = h.snapshot()
        self.assertUnchanged(before, after, log)
        self.assertEqual(after["units"]["named.service"], "enabled")  # the host's, untouched
        for unit in ("knot.service", "postfix.service", "prometheus.service",
                     "prometheus-alertmanager.service"):
            self.assertNotIn(unit, before["units"])
            self.assertEqual(after["units"].get(unit), "masked", f"{unit}\n{log[-3000:]}")
        self.assertNothingNewEnabled(before, after)


if __name__ == "__main__":
    unittest.main()
