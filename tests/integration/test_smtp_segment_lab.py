"""Issue 11 items 5 and 6 against a real SMTP server: a client pipelines (RFC 2920) a long
recipient list to Postfix's smtp-sink, which answers every RCPT in server segments of tens of KB,
and the sensor reads every reply of them in both roles.

The veth pair runs at MTU 65535 (as loopback, or a jumbo link), so the server's own TCP stack
writes segments that long: the kernel's skbs, headers linear and payload in page fragments, as a
TSO/GSO segment reaches TC egress (role server). In role client they arrive at XDP as
multi-buffer frames. Expected figures: the client's own count of the replies it read; a capture
of the server's link shows that the replies did travel in segments longer than the 2047 bytes
the sensor used to read of one.

At this MTU the client's TCP also hands TC egress GSO packets longer than 64 KiB (BIG TCP: IP
length field 0, the skb's length counts), and over IPv6 the test asks for them (gso_max_size).
The sensor must parse them: missing one of the client's segments once left the connection's
sequence record behind, and every later reply was rejected as acknowledging unsent data.
"""
import json
import os
import signal
import sys
import time
import unittest

import lab as L

SERVER4, SERVER6 = L.Lab.SERVER4, L.Lab.SERVER6
CLIENT_PORT, SERVER_PORT = 10053, 10054
MTU = 65535
BIG_GSO = 185000  # the GSO size IPv6 BIG TCP may use (gso_max_size); IPv4 keeps its own

# The client: EHLO, then MAIL, n RCPT and DATA in one write, the message, QUIT; prints the count
# of the replies it read by code (the greeting apart).
CLIENT = r"""
import collections, json, socket, sys
host, n = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, 25), timeout=20)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if not line:
            sys.exit("connection closed")
        if line[3:4] != b"-":
            return line[:3].decode()
codes = collections.Counter()
assert reply() == "220"
s.sendall(b"EHLO client.example.test\r\n")
codes[reply()] += 1
s.sendall(b"MAIL FROM:<a@example.test>\r\n" +
          b"".join(b"RCPT TO:<user%04d@example.test>\r\n" % i for i in range(n)) + b"DATA\r\n")
for _ in range(n + 2):
    codes[reply()] += 1
s.sendall(b"Subject: pipelined\r\n\r\nhello\r\n.\r\n")
codes[reply()] += 1
s.sendall(b"QUIT\r\n")
codes[reply()] += 1
print(json.dumps(codes))
"""


class SmtpSegmentLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab = cls.lab
        for host, ifname in ((lab.client, lab.client_if), (lab.server, lab.server_if)):
            host.run("ip", "link", "set", ifname, "mtu", str(MTU))  # before XDP is attached
            host.run("ip", "link", "set", ifname, "gso_max_size", str(BIG_GSO))
        lab.start_listener(lab.server, f"{SERVER4}:25", "smtp-sink", "-u", "nobody",
                           f"{SERVER4}:25", "100")
        lab.start_listener(lab.server, f"[{SERVER6}]:25", "smtp-sink", "-u", "nobody",
                           f"[{SERVER6}]:25", "100")
        lab.start_agent(lab.client, lab.client_if, port=CLIENT_PORT)
        lab.start_agent(lab.server, lab.server_if, port=SERVER_PORT)

    def capture(self, host, ifname, server):
        """tcpdump of the SMTP segments to and from `server` on a link, running once it listens.
        Returns a function that waits for the capture to hold the QUIT's reply, stops it and
        returns the path of the file."""
        lab = self.lab
        path = os.path.join(lab.tmp, f"segments-{len(lab.procs)}.pcap")
        p = lab.start(host, "tcpdump", "-i", ifname, "-nn", "-U", "--immediate-mode",
                      "-w", path, f"tcp port 25 and host {server}")
        deadline = time.monotonic() + 10
        while "listening on" not in lab.log(p):
            self.assertLess(time.monotonic(), deadline, "tcpdump did not start")
            time.sleep(0.05)

        def stop():
            deadline = time.monotonic() + 10
            while not fields(path, "smtp.response.code == 221", "tcp.len"):
                self.assertLess(time.monotonic(), deadline, "no 221 reply captured")
                time.sleep(0.05)
            lab.stop(p, signal.SIGINT)
            return path
        return stop

    def test_pipelined_replies_in_long_segments(self):
        lab = self.lab
        for server, rcpts in ((SERVER4, 1250), (SERVER4, 4600), (SERVER6, 4600)):
            with self.subTest(server=server, recipients=rcpts):
                ip = "ipv6" if ":" in server else "ip"
                at_server = self.capture(lab.server, lab.server_if, server)
                c0 = L.scrape(lab.client, CLIENT_PORT)
                s0 = L.scrape(lab.server, SERVER_PORT)
                r = lab.client.run(sys.executable, "-c", CLIENT, server, str(rcpts), timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                got = json.loads(r.stdout)
                c1 = L.scrape(lab.client, CLIENT_PORT)
                s1 = L.scrape(lab.server, SERVER_PORT)
                # EHLO, MAIL, every RCPT and the message: 250; DATA 354; QUIT 221.
                self.assertEqual(got, {"250": rcpts + 3, "354": 1, "221": 1})
                seg = [int(x) for x in fields(at_server(), f"tcp.len > 0 and {ip}.src == {server}",
                                              "tcp.len")]
                # 17551 bytes (1250) and 27804 + 36647 (4600) when this was written: several of
                # the sensor's 2 KiB copies each.
                self.assertGreater(max(seg), 8192,
                                   f"smtp-sink's replies came in short segments {seg}: this "
                                   "test needs long ones")
                for before, after, role in ((c0, c1, "client"), (s0, s1, "server")):
                    with self.subTest(role=role):
                        for n in ("smtp_flows", "smtp_stats"):
                            self.assertEqual(L.delta(before, after, "mxsense_sensor_map_full_total",
                                                     map=n), 0, f"{n} full: counts are short")
                        # Every packet parsed (BIG TCP ones included), none rejected.
                        self.assertEqual(L.delta(before, after, "mxsense_sensor_parse_errors_total"),
                                         0, changed(before, after,
                                                    "mxsense_sensor_parse_errors_total"))
                        self.assertEqual(L.delta(before, after, "mxsense_sensor_tcp_rejected_total"),
                                         0, "segments rejected")
                        l = dict(server=server, role=role)
                        self.assertEqual(L.delta(before, after, "mxsense_smtp_greetings_total",
                                                 code="220", **l), 1)
                        for code, label in (("250", "250"), ("354", "354"), ("221", "2xx")):
                            self.assertEqual(L.delta(before, after, "mxsense_smtp_replies_total",
                                                     code=label, **l), got[code], label)


def changed(before, after, name):
    """The series of name whose value changed between two scrapes, for a failure message."""
    return {k: v - before.get(k, 0) for k, v in after.items()
            if k[0] == name and v != before.get(k, 0)}


def fields(path, display_filter, field):
    """One field of the capture's packets that match the filter (tshark), as strings."""
    r = L.run("tshark", "-r", path, "-Y", display_filter, "-T", "fields", "-e", field,
              check=False)
    return r.stdout.split()


if __name__ == "__main__":
    unittest.main()
