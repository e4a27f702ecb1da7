"""scripts/demo, as a newcomer runs it: the whole story prints and everything is torn down,
also when interrupted with Ctrl-C in the middle."""
import os
import re
import signal
import subprocess
import unittest

import lab as L

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo")


class Demo(unittest.TestCase):
    def setUp(self):
        L.require_root(self)

    def assert_torn_down(self, out):
        m = re.search(r"namespaces (\S+)/(\S+), files in (\S+)", out)
        self.assertIsNotNone(m, out)
        netns = L.run("ip", "netns", "list").stdout
        for name in m.group(1, 2):
            self.assertNotIn(name, netns)
        self.assertFalse(os.path.exists(m.group(3)))
        procs = L.run("ps", "-eo", "args").stdout
        self.assertNotIn(m.group(3), procs)

    def test_the_whole_story(self):
        r = subprocess.run([DEMO, "--no-setup", "--pause", "0"], capture_output=True, text=True,
                           timeout=300)
        out = r.stdout
        self.assertEqual(r.returncode, 0, out + r.stderr)
        for ns in ("ns1 (198.18.0.20)", "ns2 (198.18.0.21)"):
            self.assertIn(f"MX at {ns}: 10 mx2.example.test., 20 mx1.example.test.", out)
            self.assertEqual(out.count(f"MX at {ns}: 10 mx1.example.test., 20 mx2.example.test."),
                             2, out)  # before the outage and after the failback
        self.assertRegex(out, r"mx1\.example\.test\s+mx\s+DOWN")
        self.assertRegex(out, r"example\.test\s+mx2\.example\.test\s+yes")
        self.assertIn("original MX order restored", out)
        self.assertIn("domain_failback attempt 1: success", out)
        self.assertIn("==> Done.", out)
        self.assert_torn_down(out)

    def test_ctrl_c_tears_down(self):
        p = subprocess.Popen([DEMO, "--no-setup", "--pause", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        out = ""
        try:
            for line in p.stdout:
                out += line
                if line.startswith("==> Outage"):
                    p.send_signal(signal.SIGINT)
                    break
            out += p.communicate(timeout=60)[0]
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 130, out)
        self.assertIn("==> Interrupted.", out)
        self.assert_torn_down(out)


if __name__ == "__main__":
    unittest.main()
