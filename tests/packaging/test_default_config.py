"""The configuration the package ships (packaging/mxsense.yaml, /etc/mxsense/mxsense.yaml).

- As shipped (every setting commented out): `mxsense check-config` says ok, warns of nothing.
- Its settings uncommented (the lines `#key: ...` and their indented continuations; prose
  comments are `# ...`): still accepted, so every example it shows is valid as written.
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
SHIPPED = os.path.join(ROOT, "packaging", "mxsense.yaml")
# A commented setting: '#' and its key (no space between), then its continuation lines: '#' and
# two or more spaces. Prose is '# ' and a word (and may be indented as well).
SETTING = re.compile(r"^#[a-z_]+:")
CONTINUED = re.compile(r"^#  ")


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


if __name__ == "__main__":
    unittest.main()
