"""The command line as the docs and the shell describe it, against the binary's own --help.

- mxsense(8) (docs/man/mxsense.8.md) names every long flag `mxsense --help` and each
  subcommand's --help list; mx-switchover(8) every flag of `scripts/mx-switchover --help`.
- The documentation paths under /usr/share/doc/mxsense/ that the man page and the shipped
  configuration name are the files the package installs there (dh_compress gzips every file
  of that directory above 4 KiB: README.md.gz, alerts.md.gz).
- The pages as built (build/man) render with `man --warnings` without a warning.
- Bash completion (packaging/bash-completion/mxsense), driven as bash drives it (COMP_WORDS,
  COMP_CWORD, _mxsense): --log-format offers exactly the values the configuration reader
  names when it refuses one; every flag whose value is a file completes file names.
Runs the built agent (MXSENSE_BUILD/mxsense); no root needed.
"""
import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MXSENSE_BUILD", os.path.join(ROOT, "build"))
MXSENSE = os.path.join(BUILD, "mxsense")
COMPLETION = os.path.join(ROOT, "packaging", "bash-completion", "mxsense")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
DOC_DIR = "/usr/share/doc/mxsense/"


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def helped(*args):
    r = run(MXSENSE, *args, "--help")
    assert r.returncode == 0, r
    return r.stdout


def subcommands():
    top = helped()
    return re.findall(r"(?m)^  ([a-z][a-z-]+)\s", top.split("Subcommands:")[1])


def man_source(name):
    with open(os.path.join(ROOT, "docs", "man", f"{name}.8.md")) as f:
        return f.read().replace("\\-", "-")  # pandoc's escaped dashes


class ManPages(unittest.TestCase):
    def assert_names_flags(self, page, help_text, what):
        text = man_source(page)
        flags = set(FLAG.findall(help_text))
        self.assertIn("--help", flags, what)
        missing = sorted(f for f in flags if not re.search(re.escape(f) + r"(?![\w-])", text))
        self.assertEqual(missing, [], f"{page}(8) lacks flags of {what}")

    def test_mxsense_names_every_flag(self):
        self.assert_names_flags("mxsense", helped(), "mxsense --help")
        subs = subcommands()
        self.assertIn("agent", subs)
        for sub in subs:
            self.assert_names_flags("mxsense", helped(sub), f"mxsense {sub} --help")

    def test_mx_switchover_names_every_flag(self):
        r = run("python3", os.path.join(ROOT, "scripts", "mx-switchover"), "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_names_flags("mx-switchover", r.stdout, "mx-switchover --help")

    def test_built_pages_render_without_warnings(self):
        # As packaging.deb checks the installed ones (man --warnings: a line troff cannot
        # adjust, a macro it does not know), here on the pages of this build. MXSENSE_MAN is
        # set where the build has them (pandoc; CMake's `man` target), as for
        # packaging.systemd_unit; without, there are no pages to check.
        man_dir = os.environ.get("MXSENSE_MAN")
        if not man_dir:
            print("\n[no man pages in this build (no pandoc): not rendered]")
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAN")}
        for page in ("mxsense", "mx-switchover"):
            path = os.path.join(man_dir, "man8", f"{page}.8")
            self.assertTrue(os.path.isfile(path), path)
            r = run("man", "--warnings", "-l", "-E", "UTF-8", path,
                    env=dict(env, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)

    def test_documentation_paths_are_installed_files(self):
        named = set()
        for path in (os.path.join(ROOT, "docs", "man", "mxsense.8.md"),
                     os.path.join(ROOT, "docs", "man", "mx-switchover.8.md"),
                     os.path.join(ROOT, "packaging", "mxsense.yaml")):
            with open(path) as f:
                named |= set(re.findall(re.escape(DOC_DIR) + r"([\w.-]+)", f.read().replace("\\", "")))
        self.assertIn("README.md.gz", named)
        for name in named:
            base = name[:-3] if name.endswith(".gz") else name
            # cmake/Install.cmake installs README.md and docs/*.md there.
            src = os.path.join(ROOT, base) if base == "README.md" else os.path.join(ROOT, "docs", base)
            self.assertTrue(os.path.isfile(src), f"{DOC_DIR}{name}: no {src} is installed")
            compressed = os.path.getsize(src) > 4096
            self.assertEqual(name.endswith(".gz"), compressed,
                             f"{DOC_DIR}{name}: dh_compress makes it {base}{'.gz' if compressed else ''}")


class Completion(unittest.TestCase):
    def complete(self, *words, cwd=None):
        """The words _mxsense offers for the command line `words` (the last is completed)."""
        script = (f'source {COMPLETION}\nCOMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))\n'
                  'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}\n'
                  '_mxsense mxsense "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
                  'printf "%s\\n" "${COMPREPLY[@]}"\n')
        env = dict(os.environ, PATH=BUILD + ":" + os.environ["PATH"])
        r = run("bash", "-c", script, "bash", "mxsense", *words, env=env, cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(set(r.stdout.split()))

    def test_log_format_offers_what_the_reader_takes(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.yaml")
            with open(path, "w") as f:
                f.write("log_format: bogus\n")
            r = run(MXSENSE, "check-config", path)
        self.assertEqual(r.returncode, 1, r)
        # "FILE:1: log_format: 'bogus': expected a, b or c": the reader's own list.
        m = re.search(r"'bogus': expected (.*)$", r.stderr.strip())
        self.assertIsNotNone(m, r.stderr)
        taken = sorted(re.split(r", | or ", m.group(1)))
        self.assertGreaterEqual(len(taken), 2, r.stderr)
        self.assertEqual(self.complete("agent", "--log-format", ""), taken, r.stderr)

    def test_file_valued_flags_complete_file_names(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("web.yml", "wx.pem", "other"):
                open(os.path.join(d, name), "w").close()
            cases = [("agent", "--web-config-file"), ("agent", "--config"), ("agent", "-c"),
                     ("status", "--password-file"), ("status", "--ca-file"),
                     ("audit", "--ca-file")]
            for sub, flag in cases:
                # The flag exists (its subcommand's --help names it) and completes files.
                self.assertIn(flag, helped(sub).replace(",", " ").split(), (sub, flag))
                self.assertEqual(self.complete(sub, flag, "w", cwd=d), ["web.yml", "wx.pem"],
                                 (sub, flag))
            self.assertEqual(self.complete("check-config", "w", cwd=d), ["web.yml", "wx.pem"])
            # A value that is not a file: no file names (--listen takes ADDR:PORT).
            self.assertEqual(self.complete("agent", "--listen", "w", cwd=d), [])


if __name__ == "__main__":
    unittest.main()
