"""The agent's log in a real systemd journal: `journalctl -p warning` shows its warnings and
errors and nothing else, each with the PRIORITY its level has, no time stamp in MESSAGE.

No systemd as PID 1 is needed and the host's journal is never touched: Debian's
systemd-journald runs in a private mount namespace (a tmpfs over /run, its socket directory and
its journal files bind-mounted from this test's temporary directory, ReadKMsg and every
forwarding off). The agent's stdout and stderr are connected to the journal as systemd connects
a service's: a stream socket to journald's `stdout` socket with the stream header (identifier,
priority 6, level prefix on), and $JOURNAL_STREAM set to the socket's "DEVICE:INODE"
(systemd.exec(5)); `journalctl -D` reads the files from outside.
"""
import glob
import json
import os
import socket
import subprocess
import tempfile
import unittest

import lab as L

JOURNALD = "/lib/systemd/systemd-journald"
PORT = 10071

# Runs in the new mount namespace (unshare --mount --propagation private): nothing of it is seen
# outside, and it ends with journald (the namespace's only process).
NAMESPACE_SCRIPT = r"""
sockets=$1 logs=$2
mount -n -t tmpfs -o mode=0755 mxsense-journal /run
mkdir -p /run/systemd/journal /run/log /run/systemd/journald.conf.d
mount -n --bind "$sockets" /run/systemd/journal
mount -n --bind "$logs" /run/log
cat > /run/systemd/journald.conf.d/mxsense-test.conf <<EOF
[Journal]
Storage=volatile
ReadKMsg=no
Audit=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF
exec %s
""" % JOURNALD


class Journald:
    """A systemd-journald of the test's own; its process is one of the lab's (stopped with it)."""

    def __init__(self, lab):
        self.lab = lab
        top = tempfile.mkdtemp(prefix="journal-", dir=lab.tmp)
        self.sockets = os.path.join(top, "sockets")
        self.logs = os.path.join(top, "logs")
        os.makedirs(self.sockets)
        os.makedirs(self.logs)
        log_path = os.path.join(top, "journald.log")
        # Nothing of a service manager this test may run under reaches journald: it would
        # notify it (READY=1) or take its sockets (socket activation).
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_FDS",
                            "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM")}
        with open(log_path, "w") as log:
            self.p = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-ec", NAMESPACE_SCRIPT,
                 "journald", self.sockets, self.logs],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.p.log_path = log_path
        lab.procs.append(self.p)
        L.until(lambda: os.path.exists(os.path.join(self.sockets, "stdout"))
                or self.p.poll() is not None, 10, "journald's stdout socket")
        if self.p.poll() is not None:
            raise AssertionError(f"journald exited: {lab.log(self.p)}")

    def stream(self, identifier):
        """A socket connected as a service's stdout is (systemd's stream header), and the
        $JOURNAL_STREAM value that names it."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.sockets, "stdout"))
        # identifier, unit id, default priority (info), level prefix, syslog, kmsg, console
        s.sendall(f"{identifier}\n\n6\n1\n0\n0\n0\n".encode())
        s.shutdown(socket.SHUT_RD)
        st = os.fstat(s.fileno())
        return s, f"{st.st_dev}:{st.st_ino}"

    def directory(self):
        dirs = glob.glob(os.path.join(self.logs, "journal", "*"))
        if len(dirs) != 1:
            raise AssertionError(f"journal directories: {dirs}")
        return dirs[0]

    def journalctl(self, *args):
        return L.run("journalctl", "--no-pager", "-D", self.directory(), *args).stdout

    def entries(self, *args):
        return [json.loads(line) for line in self.journalctl("-o", "json", *args).splitlines()]


class JournalLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)

    def setUp(self):
        # A journal for each test: what -p warning shows is this test's alone.
        self.journal = Journald(self.lab)
        self.addCleanup(self.lab.stop, self.journal.p)

    def config(self):
        """A valid configuration with warnings: MX hosts sharing an address, a hook whose
        program is not there."""
        path = os.path.join(self.lab.tmp, "journal.yaml")
        with open(path, "w") as f:
            f.write(f"""interfaces: [{self.lab.client_if}]
listen: 127.0.0.1:{PORT}
dns_servers: [198.18.0.53]
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [198.18.0.10]}}
      - {{host: mx2.example.test, addresses: [198.18.0.10]}}
hooks:
  - name: switch
    events: [domain_failover]
    argv: [{self.lab.tmp}/no-such-hook]
""")
        return path

    def run_agent(self, identifier, *args, serve=True):
        """The agent with stdout and stderr in the journal; stopped (SIGTERM) once it serves
        metrics, or waited for when it cannot start."""
        s, stream = self.journal.stream(identifier)
        env = dict(os.environ, JOURNAL_STREAM=stream)
        p = self.lab.client.popen(L.MXSENSE, "agent", *args, stdout=s.fileno(),
                                  stderr=s.fileno(), env=env)
        s.close()
        self.lab.procs.append(p)
        if serve:
            L.until(lambda: self.lab.serves_metrics(self.lab.client, PORT) or p.poll() is not None,
                    15, "the agent serving metrics")
            self.assertIsNone(p.poll(), "the agent exited")
            return self.lab.stop(p)
        return p.wait(timeout=30)

    def mine(self, identifier, *args):
        return [e for e in self.journal.entries(*args) if e.get("SYSLOG_IDENTIFIER") == identifier]

    def test_warnings_and_errors_alone_at_priority_warning(self):
        cfg = self.config()
        # The warnings, as check-config prints them ("FILE:LINE: warning: KEY: reason") on its
        # own path to stderr, not through the log.
        r = self.lab.client.run(L.MXSENSE, "check-config", cfg)  # where the interface is
        expected = sorted("configuration: " + line.split(": warning: ", 1)[1]
                          for line in r.stderr.splitlines())
        self.assertEqual(len(expected), 2, r.stderr)
        # check-config under the journal (a unit's ExecStartPre): its warnings at priority 4.
        s, stream = self.journal.stream("mxsense-check")
        p = self.lab.client.popen(L.MXSENSE, "check-config", cfg, stdout=s.fileno(),
                                  stderr=s.fileno(), env=dict(os.environ, JOURNAL_STREAM=stream))
        s.close()
        self.assertEqual(p.wait(timeout=30), 0)
        self.assertEqual(self.run_agent("mxsense-a", "--config", cfg), 0)
        # An agent that cannot start: its error, at error priority.
        self.assertEqual(self.run_agent("mxsense-b", "--interface", "mxs-nosuch0", serve=False), 1)

        def written():
            return [e for e in self.journal.entries() if e.get("SYSLOG_IDENTIFIER") in
                    ("mxsense-a", "mxsense-b", "mxsense-check")]
        L.until(lambda: any(e["SYSLOG_IDENTIFIER"] == "mxsense-b" and e["PRIORITY"] == "3"
                            for e in written()), 10, "the error in the journal",
                detail=lambda: self.journal.journalctl())
        everything = written()
        by_priority = {}
        for e in everything:
            by_priority.setdefault(e["PRIORITY"], []).append(e["MESSAGE"])
            # The journal stamps the entry; no time stamp and no "<N>" left in the text.
            self.assertNotRegex(e["MESSAGE"], r"^(<\d>|\d{4}-\d\d-\d\dT)", e)
        # Info lines were written (attached, serving, stopped) at priority 6...
        self.assertTrue(any(m.startswith("attached to ") for m in by_priority.get("6", [])),
                        by_priority)
        # ...and -p warning leaves them out: exactly the two warnings of the agent and of
        # check-config (priority 4) and the error (priority 3), nothing of journald's own.
        shown = self.journal.entries("-p", "warning")
        self.assertEqual(
            sorted((e["SYSLOG_IDENTIFIER"], e["PRIORITY"], e["MESSAGE"]) for e in shown),
            sorted([("mxsense-a", "4", m) for m in expected] +
                   [("mxsense-check", "4", line) for line in r.stderr.splitlines()] +
                   [("mxsense-b", "3", "unknown interface 'mxs-nosuch0'")]),
            self.journal.journalctl())
        print("\n$ journalctl -D DIR -p warning\n" + self.journal.journalctl("-p", "warning"))

    def test_json_lines_keep_their_priority(self):
        """--log-format json under the journal: MESSAGE is the JSON object, PRIORITY its level."""
        self.assertEqual(self.run_agent("mxsense-json", "--log-format", "json", "--interface",
                                        "mxs-nosuch1", serve=False), 1)
        L.until(lambda: self.mine("mxsense-json", "-p", "err"), 10, "the JSON error")
        [e] = self.mine("mxsense-json", "-p", "warning")
        self.assertEqual(e["PRIORITY"], "3")
        doc = json.loads(e["MESSAGE"])
        self.assertEqual((doc["level"], doc["message"]),
                         ("error", "unknown interface 'mxs-nosuch1'"))
        self.assertRegex(doc["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_command_line_errors_at_error_priority(self):
        """A usage error (CLI11's message) under the journal: priority 3 like any error."""
        self.assertEqual(self.run_agent("mxsense-usage", "--no-such-flag", serve=False), 2)
        L.until(lambda: self.mine("mxsense-usage", "-p", "err"), 10, "the usage error",
                detail=lambda: self.journal.journalctl())
        lines = self.mine("mxsense-usage")
        self.assertTrue(lines, self.journal.journalctl())
        self.assertIn("--no-such-flag", " ".join(e["MESSAGE"] for e in lines))
        # Every line it wrote (the error, "Run with --help ..."), at error priority.
        self.assertEqual({e["PRIORITY"] for e in lines}, {"3"}, lines)

    def test_inherited_journal_stream_is_not_the_journal(self):
        """$JOURNAL_STREAM inherited while stderr is elsewhere (a pipe): text lines, UTC, no
        prefix (systemd.exec(5): compare with fstat of the fd first)."""
        s, stream = self.journal.stream("mxsense-pipe")
        try:
            r = L.run("ip", "netns", "exec", self.lab.client.name, L.MXSENSE, "agent",
                      "--interface", "mxs-nosuch2", check=False,
                      env=dict(os.environ, JOURNAL_STREAM=stream))
        finally:
            s.close()
        self.assertEqual(r.returncode, 1)
        [line] = [x for x in r.stderr.splitlines() if "mxs-nosuch2" in x]
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z error unknown interface "
                               r"'mxs-nosuch2'$")


if __name__ == "__main__":
    unittest.main()
