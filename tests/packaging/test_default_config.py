"""The configuration the package ships (packaging/mxsense.yaml, /etc/mxsense/mxsense.yaml).

- As shipped (every setting commented out): `mxsense check-config` says ok, warns of nothing.
- Its settings uncommented (the lines `#key: ...` and their indented continuations; prose
  comments are `# ...`): still accepted, so every example it shows is valid as written.
- Every option the agent has is shown, at the agent's own default: the defaults and the option
  keys are read from `mxsense agent --help` (a flag's "TYPE=DEFAULT", a file-only option's
  "; default X", none shown: empty), a flag's key from the option table
  (userspace/config/option_table.cpp). interfaces, domains and hooks, empty by default, show
  examples.
Runs the built agent (MXSENSE_BUILD/mxsense); no root needed.
"""
import os
import re
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MXSENSE_BUILD", os.path.join(ROOT, "build"))
MXSENSE = os.path.join(BUILD, "mxsense")
SHIPPED = os.path.join(ROOT, "packaging", "mxsense.yaml")
# A commented setting: '#' and its key (no space between), then its continuation lines: '#' and
# two or more spaces. Prose is '# ' and a word (and may be indented as well).
SETTING = re.compile(r"^#[a-z_]+:")
CONTINUED = re.compile(r"^#  ")


TABLE = os.path.join(ROOT, "userspace", "config", "option_table.cpp")
# Empty by default (and interfaces may not be written empty): the file shows how they are
# written.
EXAMPLES = {"interfaces", "domains", "hooks"}


def check_config(path):
    r = subprocess.run([MXSENSE, "check-config", path], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def uncommented(text):
    out, in_setting = [], False
    for line in text.splitlines(keepends=True):
        if SETTING.match(line) or (in_setting and CONTINUED.match(line)):
            out.append(line[1:])
            in_setting = True
        else:
            out.append(line)
            in_setting = False
    return "".join(out)


def agent_defaults():
    """{key: default as --help shows it (a string; "" when none is shown)} for every option."""
    r = subprocess.run([MXSENSE, "agent", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    with open(TABLE) as f:
        flag_key = {}
        for key, flags in re.findall(r'\{"([a-z_.]+)",\s*"(-[^"]*)"', f.read()):
            flag_key[flags.split(",")[-1]] = key
    flags, footer = r.stdout.split("Options of the configuration file", 1)
    out = {}
    for flag, spec in re.findall(r"(?m)^  (?:-\w,)?(--[a-z0-9-]+) (\S.*?)(?:  |$)", flags):
        if flag in flag_key:
            out[flag_key[flag]] = spec.split("=", 1)[1].removesuffix(" ...") if "=" in spec else ""
    for line in footer.splitlines()[1:]:
        m = re.match(r"^  ([a-z0-9_.]+) ", line)  # list items ("hooks[].timeout"): not in the file
        if m:
            d = re.search(r"; default (.*)$", line)
            out[m.group(1)] = d.group(1) if d else ""
    assert len(out) >= 50 and "listen" in out and "verdicts.window" in out, out
    return out


def flattened(doc, prefix=""):
    """{"dns.ports": [53], ...}: a mapping's keys joined with dots."""
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(flattened(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def same(shown, default):
    """Whether the file's value is the --help default (numbers as numbers; none: empty)."""
    if default == "":
        return shown in ("", [], None)
    want = yaml.safe_load(default)
    if isinstance(want, list) and isinstance(shown, list):
        return len(want) == len(shown) and all(same(a, str(b)) for a, b in zip(shown, want))
    if isinstance(want, bool) or isinstance(shown, bool):
        return shown is want
    if isinstance(want, (int, float)) and isinstance(shown, (int, float)):
        return float(want) == float(shown)
    return str(shown) == str(want)


class ShippedConfig(unittest.TestCase):
    def test_shipped_file_is_ok_without_warnings(self):
        code, out, err = check_config(SHIPPED)
        self.assertEqual((code, out, err), (0, f"{SHIPPED}: ok\n", ""))

    def test_every_shown_setting_is_valid_uncommented(self):
        with open(SHIPPED) as f:
            text = uncommented(f.read())
        # The uncommented file really sets things (the pattern found the settings).
        keys = re.findall(r"^([a-z_]+):", text, re.M)
        self.assertGreaterEqual(len(keys), 20, keys)
        self.assertEqual(len(keys), len(set(keys)), f"a top-level key shown twice: {keys}")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            code, out, err = check_config(f.name)
        if err:
            print(f"\n[uncommented defaults: {err.strip()}]")
        self.assertEqual(code, 0, f"{out}{err}\n--- uncommented file:\n{text}")
        self.assertIn("interfaces", keys)

    def test_every_option_shown_at_the_agents_default(self):
        with open(SHIPPED) as f:
            shown = flattened(yaml.safe_load(uncommented(f.read())))
        defaults = agent_defaults()
        for key in EXAMPLES:
            self.assertIn(defaults.get(key), ("", "[]"), f"{key}: has a default now")
            self.assertIn(key, shown)
        missing = sorted(k for k in defaults if k not in shown and k.split(".")[0] not in EXAMPLES)
        self.assertEqual(missing, [], "options the shipped file does not show")
        unknown = sorted(k for k in shown if k not in defaults)
        self.assertEqual(unknown, [], "keys the agent does not have")
        wrong = {k: (v, defaults[k]) for k, v in shown.items()
                 if k not in EXAMPLES and not same(v, defaults[k])}
        self.assertEqual(wrong, {}, "shown (file) vs the agent's default (--help)")


if __name__ == "__main__":
    unittest.main()
