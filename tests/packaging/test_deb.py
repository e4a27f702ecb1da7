"""The Debian package (debian/; issue 16): built from this tree, checked, installed, started.

1. Build. The tree (git's files as they are in the work tree, committed or not) is mirrored
   into MXSENSE_BUILD/deb/src, rewriting only files that changed, so the CMake tree that
   dpkg-buildpackage keeps there (obj-*) rebuilds only what changed (the CMake tree is made
   again when the build options or dpkg-buildflags' output change); `dpkg-buildpackage -b -nc
   -j$(nproc)` at nice 5 builds mxsense and mxsense-dbgsym, with DEB_BUILD_OPTIONS=noopt
   unless MXS_DEB_BUILD_OPTIONS says otherwise. A clean machine builds everything; a tree
   whose files, revision, options, environment and installed packages are those of the last
   build is not built again (package.key). The wall time is printed. Every compile command
   has dpkg-buildflags' hardening flags and nothing that undoes them; under noopt, -O0 last.
2. Control fields against the tree and dpkg: version = the CMake project's, the shared
   libraries the binary needs (readelf) all come from packages it depends on (dpkg -S), no
   build or test package among its dependencies.
3. Contents: every file the package must ship, each byte for byte its source in the tree where
   it is not built; /usr/sbin/mxsense stripped, its symbols in the -dbgsym package under its
   build ID; the conffile; maintainer scripts that enable but do not start the unit; man pages
   that man renders without a warning; bash completion that completes what --help lists.
4. lintian: nothing (the package's overrides each say why); under noopt exactly
   hardening-no-fortify-functions (dpkg-buildflags leaves fortify out without optimisation).
5. systemd as PID 1: a throwaway Debian root (mmdebstrap, Debian's archive; cached in
   MXSENSE_BUILD/deb-roots by its package list, rebuilt after a week; made while the package
   builds, from the packages predicted by MXSENSE_BUILD/mxsense's libraries and
   debian/control, and made again if the built package's Depends need more), on an overlay thrown
   away after the test, booted by systemd-nspawn with its network in namespaces the test
   makes (the container's default route leaves through a veth pair: the shipped config's
   default interface). There: `dpkg -i` (the unit enabled, not started, the user and state
   directory made), `systemctl start mxsense` (active; /metrics scraped from the namespace
   names the veth in the sensor's attachments), `systemctl reload` (the journal has the
   reload), `systemctl stop`, `dpkg --purge` (the unit and conffile gone).

Needs root, dpkg-dev, debhelper, pandoc, lintian, mmdebstrap, systemd-container, iproute2
(scripts/setup's test set). Everything it starts or makes is removed in every outcome.
"""
import atexit
import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("MXSENSE_BUILD", os.path.join(ROOT, "build")))
WORK = os.path.join(BUILD, "deb")
SRC = os.path.join(WORK, "src")
ROOTS = os.path.join(BUILD, "deb-roots")
TAG = f"{os.getpid() % 100000}"
NS, PEER_NS = f"mxdeb{TAG}", f"mxdeb{TAG}p"
IF, PEER_IF = f"mxdeb{TAG}a", f"mxdeb{TAG}b"
ADDR, PEER = "198.18.0.1", "198.18.0.2"
PORT = 10053  # the shipped configuration's listen port (the default)
# DEB_BUILD_OPTIONS beside parallel=: noopt unless MXS_DEB_BUILD_OPTIONS says otherwise ("" for
# the flags a distribution builds with). The optimised compile of the same sources is
# scripts/test's own Release build, with warnings as errors; building it a second time here
# with dpkg's flags was a third of the suite's CPU time. What this test checks is the package.
OPTIONS = os.environ.get("MXS_DEB_BUILD_OPTIONS", "noopt")



def _terminated(signum, frame):
    # ctest's timeout or a kill: unwind (unittest lets KeyboardInterrupt through without its
    # cleanups, so what the test makes is also undone at exit: cleanup() below), as
    # tests/integration/lab.py does.
    raise KeyboardInterrupt(f"signal {signum}")


def cleanup(case, fn):
    """fn (idempotent) after the class, and at exit should the run be interrupted."""
    case.addClassCleanup(fn)
    atexit.register(fn)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _terminated)

# Packages a build or the tests need, which the package must never depend on.
BUILD_ONLY = re.compile(r"(-dev$|^(gcc|g\+\+|cpp|clang|llvm|cmake|ninja-build|make|pkgconf|"
                        r"pkg-config|bpftool|pandoc|debhelper|dpkg-dev|build-essential|"
                        r"googletest|lintian|mmdebstrap|bind9|knot|postfix|prometheus|"
                        r"prometheus-alertmanager|chromium|dnsperf|swaks|tshark|tcpreplay|"
                        r"stress-ng|clang-format|clang-tidy)$)")


def sh(*cmd, check=True, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout, **kw)


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(mxsense VERSION ([0-9.]+)", f.read()).group(1)


def tree_files():
    """The tree's files, relative: git's tracked and untracked-not-ignored ones (the work tree
    as it is), else every file outside build directories."""
    r = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True)
    if r.returncode == 0:
        return sorted(p for p in set(r.stdout.decode().split("\0"))
                      if p and os.path.lexists(os.path.join(ROOT, p)))
    out = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in (".git", "build") and not x.startswith("obj-")
                   and os.path.join(d, x) != BUILD]
        out += [os.path.relpath(os.path.join(d, f), ROOT) for f in files]
    return sorted(out)


def mirror(dst):
    """Mirror the tree into dst: changed files copied (mtime kept), files gone from the tree
    removed (so is everything a previous package build left in debian/), obj-* kept."""
    files = tree_files()
    want = set(files)
    for rel in files:
        s, d = os.path.join(ROOT, rel), os.path.join(dst, rel)
        st = os.lstat(s)
        try:
            dt = os.lstat(d)
            same = (dt.st_size, int(dt.st_mtime), dt.st_mode) == (st.st_size, int(st.st_mtime),
                                                                  st.st_mode)
        except FileNotFoundError:
            same = False
        if same and not os.path.islink(s):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        if os.path.lexists(d):
            os.remove(d)
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        else:
            shutil.copy2(s, d)
    for d, dirs, names in os.walk(dst, topdown=True):
        rel_d = os.path.relpath(d, dst)
        if rel_d == ".":
            dirs[:] = [x for x in dirs if not x.startswith("obj-")]
        for n in names:
            rel = os.path.normpath(os.path.join(rel_d, n))
            if rel not in want:
                os.remove(os.path.join(d, n))
    for d, dirs, names in sorted(os.walk(dst, topdown=False), reverse=False):
        if d != dst and not os.listdir(d) and not os.path.relpath(d, dst).startswith("obj-"):
            os.rmdir(d)


def deb_contents(deb):
    """dpkg-deb -c: {path: (mode string, owner/group)} with paths as /abs (dirs without /)."""
    out = {}
    for line in sh("dpkg-deb", "-c", deb).stdout.splitlines():
        f = line.split(None, 5)
        path = f[5].split(" -> ")[0]
        out["/" + path.lstrip("./").rstrip("/")] = (f[0], f[1])
    return out


def build_id(path):
    m = re.search(r"Build ID: ([0-9a-f]+)", sh("readelf", "-n", path).stdout)
    return m.group(1) if m else None


def sections(path):
    return set(re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", sh("readelf", "-S", "-W", path).stdout,
                          re.M))


def first_alternatives(depends):
    """'a (>= 1), b | c, ${x}' -> ['a', 'b']."""
    out = []
    for item in depends.split(","):
        name = item.split("|")[0].strip().split(" ")[0].split(":")[0]
        if name:
            out.append(name)
    return out


class Built:
    """The package built from this tree, once per run (both classes use it)."""
    done = None

    @classmethod
    def get(cls):
        if cls.done:
            return cls.done
        b = cls()
        os.makedirs(SRC, exist_ok=True)
        t0 = time.monotonic()
        arch = sh("dpkg", "--print-architecture").stdout.strip()
        b.version = project_version()
        b.deb = os.path.join(WORK, f"mxsense_{b.version}_{arch}.deb")
        b.dbgsym = os.path.join(WORK, f"mxsense-dbgsym_{b.version}_{arch}.deb")
        b.changes = os.path.join(WORK, f"mxsense_{b.version}_{arch}.changes")
        # The package is a function of the tree's files, the build options, the revision it
        # embeds and the installed packages (the toolchain): with all of them as they were at
        # the last build, its files are checked again, not built again (a clean clone, as CI
        # runs, always builds). Remove MXSENSE_BUILD/deb/package.key to force a build.
        key_file = os.path.join(WORK, "package.key")
        key = package_key()
        if read_text(key_file) == key and all(map(os.path.exists, (b.deb, b.dbgsym, b.changes))) \
                and glob.glob(os.path.join(SRC, "obj-*", "compile_commands.json")):
            print(f"\n[package unchanged since its build of "
                  f"{time.strftime('%FT%TZ', time.gmtime(os.path.getmtime(key_file)))}: "
                  f"not built again]", file=sys.stderr)
            cls.done = b
            return b
        if os.path.exists(key_file):
            os.remove(key_file)
        mirror(SRC)
        # CMake keeps the compiler flags of its first configure in its cache: a CMake tree made
        # with other build options (noopt or not) is made again, not reused with stale flags.
        flags = os.path.join(WORK, "build-options")
        marker = OPTIONS + "\n" + sh("dpkg-buildflags", "--export=sh", cwd=SRC,
                                     env=dict(os.environ, DEB_BUILD_OPTIONS=OPTIONS,
                                              DEB_BUILD_MAINT_OPTIONS="hardening=+all")).stdout
        if read_text(flags) != marker:
            for d in glob.glob(os.path.join(SRC, "obj-*")):
                shutil.rmtree(d)
            with open(flags, "w") as f:
                f.write(marker)
        for f in glob.glob(os.path.join(WORK, "mxsense*_*")):
            os.remove(f)
        EarlyRoot.start()
        nproc = os.cpu_count() or 1
        env = dict(os.environ, DEB_BUILD_OPTIONS=f"parallel={nproc} {OPTIONS}".strip())
        env.pop("MAKEFLAGS", None)
        log = os.path.join(WORK, "build.log")
        # At low priority: ctest runs the timing-sensitive labs beside this build (scripts/test).
        with open(log, "w") as f:
            r = subprocess.run(["nice", "-n", "5", "dpkg-buildpackage", "-b", "-uc", "-us",
                                "-nc", f"-j{nproc}"],
                               cwd=SRC, stdout=f, stderr=subprocess.STDOUT, env=env,
                               timeout=3600)
        b.seconds = time.monotonic() - t0
        if r.returncode != 0:
            with open(log) as f:
                raise AssertionError(f"dpkg-buildpackage: exit {r.returncode}\n"
                                     f"{f.read()[-6000:]}")
        print(f"\n[package built in {b.seconds:.0f} s (-j{nproc}, {OPTIONS or 'optimised'}); "
              f"log {log}]", file=sys.stderr)
        with open(key_file, "w") as f:
            f.write(key)
        cls.done = b
        return b


def require_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("*** SKIPPED: the package test builds and boots as root ***")


class Package(unittest.TestCase):
    """Steps 1-4: build, fields, contents, lintian."""

    @classmethod
    def setUpClass(cls):
        require_root()
        b = Built.get()
        cls.version, cls.deb, cls.dbgsym, cls.changes = b.version, b.deb, b.dbgsym, b.changes
        cls.tmp = tempfile.mkdtemp(prefix="mxsense-deb-")
        cleanup(cls, lambda: shutil.rmtree(cls.tmp, ignore_errors=True))
        cls.x = os.path.join(cls.tmp, "x")
        sh("dpkg-deb", "-x", cls.deb, cls.x)
        sh("dpkg-deb", "-e", cls.deb, os.path.join(cls.tmp, "control"))

    def control(self, name):
        with open(os.path.join(self.tmp, "control", name)) as f:
            return f.read()

    def field(self, name, deb=None):
        return sh("dpkg-deb", "-f", deb or self.deb, name).stdout.strip()

    def test_control_fields(self):
        self.assertTrue(os.path.exists(self.dbgsym), "no -dbgsym package")
        self.assertEqual(self.field("Package"), "mxsense")
        self.assertEqual(self.field("Version"), self.version)  # CMakeLists.txt's, native
        self.assertEqual(self.field("Section"), "net")
        depends = self.field("Depends")
        names = first_alternatives(depends)
        # procps: /bin/kill of the unit's ExecReload (a minimal root lacks it: the reload failed)
        for p in ("python3", "python3-dnspython", "ca-certificates", "procps"):
            self.assertIn(p, names, depends)
        # systemd-sysusers makes the user (dh_installsysusers).
        self.assertRegex(depends, r"systemd \| systemd-standalone-sysusers")
        every = [a.strip().split(" ")[0] for item in depends.split(",") for a in item.split("|")]
        self.assertEqual([p for p in every if BUILD_ONLY.search(p)], [], depends)
        for f in ("Recommends", "Suggests", "Pre-Depends"):
            self.assertEqual(self.field(f), "", f)

    def test_depends_cover_the_shared_libraries(self):
        """Every library the binary needs (its ELF NEEDED entries, resolved by ldconfig on
        this machine, owned per dpkg -S) is in a package the package depends on."""
        binary = os.path.join(self.x, "usr/sbin/mxsense")
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                            sh("readelf", "-d", binary).stdout)
        self.assertIn("libbpf.so.1", needed)
        # Where this machine's loader finds each (ldd), as the binary will on a host.
        cache = dict(re.findall(r"(?m)^\s*(\S+) => (/\S+)", sh("ldd", binary).stdout))
        names = set(first_alternatives(self.field("Depends")))
        for lib in needed:
            # dpkg knows a file by the path its package ships (/lib or /usr/lib: usrmerge).
            path = cache[lib]
            paths = {path, os.path.realpath(path), re.sub(r"^/usr/", "/", path),
                     re.sub(r"^/usr/", "/", os.path.realpath(path))}
            owners = [sh("dpkg", "-S", p, check=False).stdout for p in sorted(paths)]
            owner = next(o for o in owners + [f"? {lib}:"] if o).split(":")[0]
            # The package itself, or a name it provides (libspdlog1.10 provides -fmt9).
            provides = sh("dpkg-query", "-W", "-f=${Provides}", owner, check=False).stdout
            offered = {owner, *first_alternatives(provides)}
            self.assertTrue(offered & names, f"{lib} comes from {owner} ({provides}), "
                                             f"not a dependency")

    def test_contents(self):
        c = deb_contents(self.deb)
        want = {
            "/usr/sbin/mxsense": "-rwxr-xr-x", "/usr/sbin/mx-switchover": "-rwxr-xr-x",
            "/lib/systemd/system/mxsense.service": "-rw-r--r--",
            "/usr/lib/sysusers.d/mxsense.conf": "-rw-r--r--",
            "/etc/mxsense/mxsense.yaml": "-rw-r--r--",
            "/var/lib/mxsense": "drwxr-xr-x",
            "/usr/share/man/man8/mxsense.8.gz": "-rw-r--r--",
            "/usr/share/man/man8/mx-switchover.8.gz": "-rw-r--r--",
            "/usr/share/bash-completion/completions/mxsense": "-rw-r--r--",
            "/usr/share/doc/mxsense/copyright": "-rw-r--r--",
        }
        for p, mode in want.items():
            self.assertIn(p, c)
            self.assertEqual(c[p], (mode, "root/root"), p)
        shipped = {  # in the package: its source in the tree, byte for byte
            "usr/sbin/mx-switchover": "scripts/mx-switchover",
            "lib/systemd/system/mxsense.service": "packaging/mxsense.service",
            "usr/lib/sysusers.d/mxsense.conf": "packaging/mxsense.sysusers",
            "etc/mxsense/mxsense.yaml": "packaging/mxsense.yaml",
        }
        for src in glob.glob(os.path.join(ROOT, "dashboards", "*.json")):
            shipped[f"usr/share/mxsense/dashboards/{os.path.basename(src)}"] = src
        for src in glob.glob(os.path.join(ROOT, "prometheus", "*.yml")):
            shipped[f"usr/share/mxsense/prometheus/{os.path.basename(src)}"] = src
        self.assertGreaterEqual(len(shipped), 8)
        for inside, src in shipped.items():
            with open(os.path.join(self.x, inside), "rb") as a, \
                    open(os.path.join(ROOT, src), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"/{inside} is not {src}")
        # Nothing for building or testing, nothing under /usr/local, nothing beside these.
        for p in c:
            if not p:
                continue  # the archive's ./
            self.assertFalse(re.search(r"/usr/local|/include/|\.a$|\.h$|/tests?/|bench|\.pyc$",
                                       p), p)
            self.assertRegex(p, r"^/(usr/(sbin|share|lib/sysusers\.d)|lib/systemd|etc/mxsense|"
                                r"var/lib/mxsense|$|usr$|usr/lib$|lib$|lib/systemd$|etc$|var$|"
                                r"var/lib$)", p)

    def test_binary_stripped_and_symbols_in_dbgsym(self):
        binary = os.path.join(self.x, "usr/sbin/mxsense")
        secs = sections(binary)
        self.assertFalse({s for s in secs if s.startswith(".debug")}, secs)
        self.assertNotIn(".symtab", secs)
        bid = build_id(binary)
        self.assertTrue(bid)
        dbg = os.path.join(self.tmp, "dbg")
        sh("dpkg-deb", "-x", self.dbgsym, dbg)
        debug = os.path.join(dbg, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
        self.assertTrue(os.path.exists(debug), f"no {debug}")
        self.assertEqual(build_id(debug), bid)
        self.assertIn(".debug_info", sections(debug) | {s.replace(".zdebug", ".debug")
                                                       for s in sections(debug)})
        print(f"\n[/usr/sbin/mxsense {os.path.getsize(binary) / 1e6:.1f} MB stripped; "
              f"debug file {os.path.getsize(debug) / 1e6:.1f} MB]", file=sys.stderr)
        self.assertEqual(self.field("Depends", self.dbgsym), f"mxsense (= {self.version})")

    def test_conffiles_and_maintainer_scripts(self):
        self.assertEqual(self.control("conffiles").split(), ["/etc/mxsense/mxsense.yaml"])
        postinst = self.control("postinst")
        self.assertIn("systemd-sysusers", postinst)
        self.assertIn("deb-systemd-helper enable 'mxsense.service'", postinst)
        # Enabled, not started: the only invocation is an upgrade's try-restart.
        self.assertEqual(set(re.findall(r"deb-systemd-invoke (\S+)", postinst)),
                         {"try-restart"}, postinst)
        self.assertIn("chown mxsense:mxsense /var/lib/mxsense", postinst)
        self.assertIn("deb-systemd-invoke stop mxsense.service", self.control("prerm"))

    def test_man_pages_render_without_warnings(self):
        for page, title in (("mxsense", "MXSENSE"), ("mx-switchover", "MX-SWITCHOVER")):
            path = os.path.join(self.x, f"usr/share/man/man8/{page}.8.gz")
            with gzip.open(path, "rt") as f:
                src = f.read()
            self.assertRegex(src, rf'(?m)^\.TH "{title}" "8"')
            env = {k: v for k, v in os.environ.items() if not k.startswith("MAN")}
            r = sh("man", "--warnings", "-l", "-E", "UTF-8", path,
                   env=dict(env, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
            self.assertEqual(r.stderr, "", page)
            text = re.sub(r".\x08", "", r.stdout)  # overstrike (bold, underline) to plain
            for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"):
                self.assertTrue(re.search(rf"(?m)^{section}$", text), f"{page}: no {section}")

    def complete(self, *words):
        """The words bash completion offers for the command line `words` (the last one being
        completed), with the package's completion file and binary."""
        comp = os.path.join(self.x, "usr/share/bash-completion/completions/mxsense")
        script = (f'source {comp}\nCOMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
                  'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
                  '_mxsense mxsense "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
                  'printf "%s\\n" "${COMPREPLY[@]}"\n')
        env = dict(os.environ, PATH=os.path.join(self.x, "usr/sbin") + ":" + os.environ["PATH"])
        r = sh("bash", "-c", script, "bash", "mxsense", *words, env=env)
        return sorted(set(r.stdout.split()))

    def test_bash_completion_offers_what_help_lists(self):
        binary = os.path.join(self.x, "usr/sbin/mxsense")

        def helped(*args):
            return sh(binary, *args, "--help").stdout
        # Subcommands: the indented names under "Subcommands:" of mxsense --help.
        top = helped()
        subs = re.findall(r"(?m)^  ([a-z][a-z-]+)\s", top.split("Subcommands:")[1])
        self.assertIn("agent", subs)
        self.assertEqual(self.complete(""), sorted(subs))
        self.assertEqual(self.complete("check"), ["check-config"])
        for sub in subs:
            flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", helped(sub))))
            self.assertIn("--help", flags, sub)
            self.assertEqual(self.complete(sub, "--"), flags, sub)
        checks = re.search(r"--check .*\): (.*)$", helped("audit"), re.M).group(1).split(", ")
        self.assertEqual(self.complete("audit", "--check", ""), sorted(checks))
        # The fixed values offered are the ones the configuration reader takes (check-config of
        # the option's key), and it refuses others (the check can fail).
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.yaml")

            def takes(key, value):
                with open(path, "w") as f:
                    f.write(f"{key}: {value}\n")
                return sh(binary, "check-config", path, check=False).returncode == 0
            for flag, key in (("--xdp-mode", "xdp_mode"), ("--log-level", "log_level"),
                              ("--log-format", "log_format")):
                offered = self.complete("agent", flag, "")
                self.assertGreaterEqual(len(offered), 2, flag)
                for v in offered:
                    self.assertTrue(takes(key, v), f"{flag} offers {v}, which {key} refuses")
                self.assertFalse(takes(key, "bogus"), key)

    def test_compiled_with_dpkg_buildflags(self):
        """Every compile of the agent has dpkg-buildflags' CPPFLAGS and CXXFLAGS (the
        hardening of debian/rules' DEB_BUILD_MAINT_OPTIONS, with the build options the package
        was built with), its link LDFLAGS: the path -D_FORTIFY_SOURCE=2 takes in an optimised
        build reaches the compiler."""
        env = dict(os.environ, DEB_BUILD_MAINT_OPTIONS="hardening=+all",
                   DEB_BUILD_OPTIONS=OPTIONS)

        def flags(name):
            return sh("dpkg-buildflags", "--get", name, env=env, cwd=SRC).stdout.split()
        # What CMake compiles and links with, whether the last build was whole or incremental.
        obj = glob.glob(os.path.join(SRC, "obj-*"))[0]
        with open(os.path.join(obj, "compile_commands.json")) as f:
            compiles = [e["command"].split() for e in json.load(f)
                        if re.search(r"\.c(pp|xx)$", e["file"]) and "/userspace/" in e["file"]]
        with open(os.path.join(obj, "CMakeCache.txt")) as f:
            cache = f.read()
        linker = re.search(r"^CMAKE_EXE_LINKER_FLAGS:STRING=(.*)$", cache, re.M)
        build_type = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", cache, re.M).group(1)
        # noopt (Policy 4.9.1) is honoured: dpkg's -O0 alone, not Release's -O3 after it.
        self.assertEqual(build_type, "None" if "noopt" in OPTIONS.split() else "Release")
        self.assertGreater(len(compiles), 5)
        want = flags("CPPFLAGS") + flags("CXXFLAGS")
        self.assertIn("-fstack-protector-strong", want)
        defeats = re.compile(r"^(-U_FORTIFY_SOURCE|-D_FORTIFY_SOURCE=0|-fno-stack-protector|"
                             r"-fno-stack-protector-.*|-fcf-protection=none|-no-pie|-fno-PIE|"
                             r"-Wl,-z,(norelro|lazy))$")
        for words in compiles:
            self.assertEqual([w for w in want if w not in words], [], " ".join(words))
            # Nothing of the project's own flags undoes the hardening; under noopt the last
            # -O is dpkg's (an -O3 after it would make this a Release build).
            self.assertEqual([w for w in words if defeats.match(w)], [], " ".join(words))
            if "noopt" in OPTIONS.split():
                self.assertEqual([w for w in words if w.startswith("-O")][-1], "-O0")
                self.assertNotIn("-DNDEBUG", words)
        self.assertIn("-Wl,-z,now", flags("LDFLAGS"))
        self.assertEqual([w for w in flags("LDFLAGS") if w not in linker.group(1).split()], [])

    def test_lintian_clean(self):
        r = sh("lintian", "--display-info", "--fail-on", "error,warning,info", self.changes,
               check=False, timeout=900)
        tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIXPO]: ", line)]
        print(f"\n[lintian: exit {r.returncode}, {len(tags)} tags]", file=sys.stderr)
        expected = []
        if "noopt" in OPTIONS.split():
            # _FORTIFY_SOURCE needs optimisation: dpkg-buildflags leaves it out under noopt, and
            # lintian says so (an info tag). test_compiled_with_dpkg_buildflags checks the path
            # it takes in an optimised build.
            expected = ["I: mxsense: hardening-no-fortify-functions [usr/sbin/mxsense]"]
        self.assertEqual(tags, expected, r.stdout + r.stderr)
        # 0 when clean; 2 when a tag at --fail-on's levels was printed (the expected one);
        # 1 is lintian failing, which no list of tags makes a pass.
        self.assertEqual(r.returncode, 2 if expected else 0, r.stdout + r.stderr)


class EarlyRoot:
    """The throwaway root, made while the package builds (mmdebstrap waits on the archive and
    dpkg, the build on the CPUs): its packages are predicted from the tree's own build of the
    agent (MXSENSE_BUILD/mxsense, the same libraries the package's binary links), and it is
    used only if it covers the built package's Depends (else base_root makes the right one)."""
    thread = None
    result = None

    @classmethod
    def start(cls):
        binary = os.path.join(BUILD, "mxsense")
        if cls.thread or not os.path.exists(binary):
            return
        packages = ["systemd", *library_packages(binary), *control_depends()]
        cls.path = root_path(packages)

        def make():
            try:
                cls.result = base_root(packages, prune=False)
            except Exception as e:  # the fallback makes the root again, and says why it failed
                print(f"\n[throwaway root made early: failed ({e}); made after the build]",
                      file=sys.stderr)
        cls.thread = threading.Thread(target=make, daemon=True)
        cls.thread.start()
        atexit.register(cls.stop)

    @classmethod
    def stop(cls):
        """At exit (a failed build, an interrupted run): an mmdebstrap still running is
        ended, not left behind with its mounts in a half-made root."""
        if cls.thread and cls.thread.is_alive():
            subprocess.run(["pkill", "-TERM", "-f", f"mmdebstrap .*{re.escape(cls.path)}"],
                           check=False)
            cls.thread.join(120)

    @classmethod
    def covering(cls, deps):
        """The early root, if it has every package in deps (installed, or provided by one)."""
        if not cls.thread:
            return None
        cls.thread.join()
        if not cls.result:
            return None
        r = sh("chroot", cls.result, "dpkg-query", "-W", "-f=${Package} ${Provides}\n",
               check=False)
        have = set()
        for line in r.stdout.splitlines():
            name, _, provides = line.partition(" ")
            have |= {name, *first_alternatives(provides)}
        missing = [d for d in deps if d not in have]
        if missing:
            print(f"\n[throwaway root made early lacks {missing}: made again]", file=sys.stderr)
            return None
        prune_roots(cls.result)
        return cls.result


def control_depends():
    """The package's Depends as debian/control names them (substitution variables left out)."""
    with open(os.path.join(ROOT, "debian", "control")) as f:
        text = f.read()
    m = re.search(r"^Package: mxsense\n(?:.*\n)*?Depends:((?:.*\n)(?:[ \t].*\n)*)", text, re.M)
    return [d for d in first_alternatives(m.group(1)) if not d.startswith("$")]


def package_key():
    """A hash of what the package is built from: the tree's files (names, modes, contents),
    the build options, the revision (git describe, as CMake embeds it) and the installed
    packages with their versions."""
    h = hashlib.sha256()
    for rel in tree_files():
        path = os.path.join(ROOT, rel)
        h.update(f"{rel}\0{os.lstat(path).st_mode}\0".encode())
        if os.path.islink(path):
            h.update(os.readlink(path).encode())
        else:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout
    pkgs = sh("dpkg-query", "-W", "-f=${Package} ${Version}\n").stdout
    env = sorted(f"{k}={v}" for k, v in os.environ.items()
                 if k.startswith("DEB_") or k in ("CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS",
                                                  "LDFLAGS"))
    h.update(f"\0{OPTIONS}\0{rev}\0{pkgs}\0{env}".encode())
    return h.hexdigest()


def read_text(path):
    """The file's text, None if there is no such file."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def library_packages(binary):
    """The Debian packages that ship the shared libraries binary needs (readelf, ldd, dpkg -S)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        sh("readelf", "-d", binary).stdout)
    where = dict(re.findall(r"(?m)^\s*(\S+) => (/\S+)", sh("ldd", binary).stdout))
    out = set()
    for lib in needed:
        if lib not in where:
            continue
        path = os.path.realpath(where[lib])
        for p in (path, re.sub(r"^/usr/", "/", path)):
            owner = sh("dpkg", "-S", p, check=False).stdout
            if owner:
                out.add(owner.split(":")[0])
                break
    return sorted(out)


def root_path(packages):
    key = hashlib.sha256(" ".join(sorted(set(packages))).encode()).hexdigest()[:12]
    return os.path.join(ROOTS, f"bookworm-{key}")


def prune_roots(keep):
    """Removes the cached roots of other package lists."""
    for old in glob.glob(os.path.join(ROOTS, "bookworm-*")):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def base_root(packages, prune=True):
    """A Debian 12 minbase root with packages, cached by that list for a week; prune: the
    roots of other lists removed."""
    path = root_path(packages)
    stamp = os.path.join(path, ".complete")
    if os.path.exists(stamp) and time.time() - os.path.getmtime(stamp) < 7 * 86400:
        if prune:
            prune_roots(path)
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(ROOTS, exist_ok=True)
    t0 = time.monotonic()
    sh("mmdebstrap", "--mode=root", "--variant=minbase",
       "--include=" + ",".join(sorted(set(packages))), "bookworm", path, timeout=1800)
    open(stamp, "w").close()
    if prune:
        prune_roots(path)
    print(f"\n[throwaway root {path} made in {time.monotonic() - t0:.0f} s]", file=sys.stderr)
    return path


class Booted:
    """The base root on a throwaway overlay, booted by systemd-nspawn (systemd as PID 1) with
    the network namespace ns; run() executes a command in it (nsenter into its PID 1)."""

    def __init__(self, base, ns, files):
        self.tmp = tempfile.mkdtemp(prefix="mxsense-deb-root-")
        for d in ("upper", "work", "mnt"):
            os.mkdir(os.path.join(self.tmp, d))
        for inside, content in files.items():
            p = os.path.join(self.tmp, "upper", inside.lstrip("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if isinstance(content, bytes):
                with open(p, "wb") as f:
                    f.write(content)
            else:
                with open(p, "w") as f:
                    f.write(content)
        t, mnt = self.tmp, os.path.join(self.tmp, "mnt")
        self.console = os.path.join(t, "console.log")
        # The overlay lives in a private mount namespace that dies with nspawn.
        inner = (f"set -e; mount -t overlay mxsense-deb -o lowerdir={base},upperdir={t}/upper,"
                 f"workdir={t}/work {mnt}; exec systemd-nspawn --quiet --register=no "
                 f"--keep-unit --directory={mnt} --network-namespace-path=/run/netns/{ns} "
                 f"--resolv-conf=off --timezone=off --capability=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN "
                 # nspawn's own seccomp filter refuses bpf() and perf_event_open() else
                 f"--system-call-filter='bpf perf_event_open' "
                 f"--console=pipe --boot")
        with open(self.console, "w") as log:
            self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                          "sh", "-c", inner], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.pid1 = None

    def find_pid1(self):
        """The container's PID 1: a descendant of nspawn that is PID 1 in its namespace."""
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/status") as f:
                        st = dict(line.split(":", 1) for line in f if ":" in line)
                except OSError:
                    continue
                kids.setdefault(int(st["PPid"]), []).append((int(d), st["NSpid"].split()))
        todo = [self.proc.pid]
        while todo:
            for pid, nspid in kids.get(todo.pop(), []):
                if nspid[-1] == "1" and len(nspid) > 1:
                    return pid
                todo.append(pid)
        return None

    def run(self, *cmd, check=True, timeout=120):
        r = subprocess.run(["nsenter", f"--target={self.pid1}", "--mount", "--uts", "--ipc",
                            "--net", "--pid", "--root", "--wd=/", "env", "-i",
                            "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TERM=dumb",
                            *cmd], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"in the container: {' '.join(cmd)}: exit {r.returncode}\n"
                                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def boot(self, seconds=60):
        end = time.time() + seconds
        while time.time() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited {self.proc.returncode}:\n"
                                     f"{self.log()[-4000:]}")
            self.pid1 = self.pid1 or self.find_pid1()
            if self.pid1:
                state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return state
            time.sleep(0.5)
        raise AssertionError(f"the container did not boot in {seconds} s:\n{self.log()[-4000:]}")

    def log(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            # nspawn asks the container's systemd to shut down on SIGTERM.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def netns_up():
    """The agent's namespace NS (its default route leaves through IF) and the peer's."""
    for ns in (NS, PEER_NS):
        sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", IF, "netns", NS, "type", "veth", "peer", "name", PEER_IF,
       "netns", PEER_NS)
    for ns, ifname, addr in ((NS, IF, ADDR), (PEER_NS, PEER_IF, PEER)):
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", ifname, "up")
    sh("ip", "-n", NS, "route", "add", "default", "via", PEER)


def netns_down():
    for ns in (NS, PEER_NS):
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def scrape():
    r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c",
                        "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                        f"'http://127.0.0.1:{PORT}/metrics', timeout=3).read().decode())"],
                       capture_output=True, text=True, timeout=20)
    return r.stdout if r.returncode == 0 else None


class InstalledUnderSystemd(unittest.TestCase):
    """Step 5: dpkg -i and systemctl in a booted throwaway root (one sequence of steps)."""

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.deb = Built.get().deb
        deps = first_alternatives(sh("dpkg-deb", "-f", cls.deb, "Depends").stdout)
        # systemd to boot; the package's dependencies, so that dpkg -i installs offline
        # (the container's network is the test's namespace).
        cls.base = EarlyRoot.covering(deps) or base_root(["systemd", *deps])
        cleanup(cls, netns_down)
        netns_up()
        cls.box = Booted(cls.base, NS, {
            "/root/" + os.path.basename(cls.deb): read_bytes(cls.deb),
            # The judged DNS servers' default: the peer, inside the test's namespaces.
            "/etc/resolv.conf": f"nameserver {PEER}\n",
        })
        cleanup(cls, cls.box.close)
        t0 = time.monotonic()
        state = cls.box.boot()
        print(f"\n[container booted ({state}) in {time.monotonic() - t0:.1f} s]",
              file=sys.stderr)

    def test_install_start_scrape_reload_stop_purge(self):
        box = self.box
        r = box.run("dpkg", "-i", "/root/" + os.path.basename(self.deb))
        print(f"\n[dpkg -i]\n{r.stdout}{r.stderr}", file=sys.stderr)
        self.assertEqual(box.run("systemctl", "is-enabled", "mxsense").stdout.strip(), "enabled")
        self.assertEqual(box.run("systemctl", "is-active", "mxsense", check=False)
                         .stdout.strip(), "inactive")  # enabled, not started
        pw = box.run("getent", "passwd", "mxsense").stdout.strip().split(":")
        self.assertEqual((pw[5], pw[6]), ("/var/lib/mxsense", "/usr/sbin/nologin"), pw)
        self.assertEqual(box.run("stat", "-c", "%U:%G %a", "/var/lib/mxsense").stdout.strip(),
                         "mxsense:mxsense 750")

        r = box.run("systemctl", "start", "mxsense", check=False)
        status = box.run("systemctl", "status", "--no-pager", "-l", "mxsense", check=False)
        print(f"\n[systemctl start mxsense: exit {r.returncode}]\n{status.stdout}",
              file=sys.stderr)
        self.assertEqual(r.returncode, 0, r.stderr + status.stdout + self.journal())
        self.assertEqual(box.run("systemctl", "is-active", "mxsense", check=False)
                         .stdout.strip(), "active", self.journal())
        metrics = self.until(scrape, 30, "a scrape of the started unit")
        attached = re.findall(r'^mxsense_sensor_attach_mode\{[^}]*interface="([^"]+)"',
                              metrics, re.M)
        self.assertEqual(set(attached), {IF}, metrics[:2000])
        show = dict(line.split("=", 1) for line in box.run(
            "systemctl", "show", "-p", "User", "-p", "MainPID", "-p", "ExecMainStatus",
            "mxsense").stdout.split())
        self.assertEqual(show["User"], "mxsense")
        # The agent runs as mxsense with nothing left of its capabilities.
        st = box.run("cat", f"/proc/{show['MainPID']}/status").stdout
        self.assertRegex(st, r"(?m)^CapEff:\s+0+$")
        uid = box.run("id", "-u", "mxsense").stdout.strip()
        self.assertRegex(st, rf"(?m)^Uid:\s+{uid}\s+{uid}\s+{uid}\s+{uid}$")

        box.run("systemctl", "reload", "mxsense")
        self.until(lambda: "reloaded /etc/mxsense/mxsense.yaml" in self.journal(), 20,
                   "the reload in the journal")
        self.assertEqual(box.run("systemctl", "is-active", "mxsense", check=False)
                         .stdout.strip(), "active")
        print(f"\n[journalctl -u mxsense]\n{self.journal()}", file=sys.stderr)

        box.run("systemctl", "stop", "mxsense")
        self.assertEqual(box.run("systemctl", "show", "-p", "ExecMainStatus", "--value",
                                 "mxsense").stdout.strip(), "0")
        self.assertIsNone(scrape())
        # Removal stops a running agent (prerm); purge takes the conffile and enablement.
        box.run("systemctl", "start", "mxsense")
        self.until(scrape, 30, "a scrape after the restart")
        box.run("dpkg", "--purge", "mxsense")
        self.assertIsNone(scrape())
        self.assertNotEqual(box.run("test", "-e", "/etc/mxsense/mxsense.yaml",
                                    check=False).returncode, 0)
        self.assertEqual(box.run("find", "/etc/systemd/system", "-name", "mxsense*").stdout, "")

    def journal(self):
        return self.box.run("journalctl", "-u", "mxsense", "--no-pager", "-o", "cat",
                            check=False).stdout

    @staticmethod
    def until(check, seconds, what):
        end = time.time() + seconds
        while True:
            got = check()
            if got:
                return got
            if time.time() > end:
                raise AssertionError(f"not within {seconds} s: {what}")
            time.sleep(0.5)


if __name__ == "__main__":
    unittest.main()
