"""scripts/demo, as a newcomer runs it: the whole story prints and everything is torn down,
also when interrupted with Ctrl-C in the middle; with --browse and --hold the status page is
reachable from this host's loopback (only) until Ctrl-C."""
import os
import re
import signal
import socket
import subprocess
import unittest
import urllib.request

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

    @staticmethod
    def end(p):
        """A demo still running after a failed check: Ctrl-C, so that it tears its lab down
        (a SIGKILL would leave its namespaces, servers and agent behind); SIGKILL only if it
        does not end."""
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()

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
        self.assertRegex(out, r"the status page is in namespace \S+: ip netns exec \S+ curl "
                              r"http://127\.0\.0\.1:10053/")
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
            self.end(p)
        self.assertEqual(p.returncode, 130, out)
        self.assertIn("==> Interrupted.", out)
        self.assert_torn_down(out)

    def test_browse_and_hold(self):
        with socket.socket() as s:  # a port free on this host's loopback
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.Popen([DEMO, "--no-setup", "--pause", "0", "--browse", str(port),
                              "--hold"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        out = ""
        try:
            for line in p.stdout:
                out += line
                if line.startswith("==> Holding"):
                    break
            self.assertIn(f"==> The status page: http://127.0.0.1:{port}/", out)
            self.assertIn("==> Holding", out)
            # The story is over and the page is still there, from the host, through the relay.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                page = r.read().decode()
            self.assertIn("<title>mxsense status</title>", page)
            self.assertIn("mx1.example.test", page)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                self.assertIn("mxsense_target_state{", r.read().decode())
            # On loopback only.
            listening = L.run("ss", "-Hltn", f"sport = :{port}").stdout.splitlines()
            self.assertEqual([x.split()[3] for x in listening], [f"127.0.0.1:{port}"])
            p.send_signal(signal.SIGINT)
            out += p.communicate(timeout=60)[0]
        finally:
            self.end(p)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("==> Done.", out)
        self.assert_torn_down(out)
        with self.assertRaises(ConnectionRefusedError):  # the relay ended with the demo
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_busy_browse_port_is_refused_first(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            r = subprocess.run([DEMO, "--no-setup", "--browse", str(port)], capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), f"scripts/demo: --browse {port}: cannot listen on "
                                           f"127.0.0.1:{port}: Address already in use")
        self.assertEqual(r.stdout, "")  # nothing was started


if __name__ == "__main__":
    unittest.main()
