"""The SMTP sensor against real SMTP endpoints (Postfix's smtp-sink) driven by real clients
(smtp-source, swaks), in network namespaces.

Server addresses, one behaviour each, all on port 25:
  .2 / fd00::2  smtp-sink answering 220
  .3            smtp-sink greeting 421 (-Q CONNECT)
  .4            nothing listening: the kernel answers RST
  .5            SYNs dropped by iptables: timeout
  .6            SYNs rejected with ICMP host unreachable
  .7            a real Postfix smtpd offering STARTTLS (self-signed certificate)
Expected figures come from the clients' own counts or from a capture of the server's link.
"""
import os
import signal
import statistics
import unittest

import lab as L

OK4, BUSY4, CLOSED4, BLACKHOLE4 = "198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5"
REJECT4, POSTFIX4 = "198.18.0.6", "198.18.0.7"
OK6 = L.Lab.SERVER6
CLIENT_PORT, SERVER_PORT = 10053, 10054
CONNECT_TIMEOUT_S = 2.0
BUCKETS = ",".join(f"{x / 10000:.4f}" for x in range(150, 400, 5)) + ",1,10"


def swaks(host, server, *extra):
    return host.run("swaks", "--server", server, "--port", "25", "--from", "a@example.test",
                    "--to", "b@example.test", "--timeout", "4", *extra, check=False, timeout=30)


class SmtpLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = L.Lab.for_test_class(cls)
        lab, srv = cls.lab, cls.lab.server
        for a in (BUSY4, CLOSED4, BLACKHOLE4, REJECT4, POSTFIX4):
            srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        srv.run("iptables", "-A", "INPUT", "-p", "tcp", "-d", BLACKHOLE4, "--dport", "25",
                "-j", "DROP")
        srv.run("iptables", "-A", "INPUT", "-p", "tcp", "-d", REJECT4, "--dport", "25",
                "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
        for addr, extra in ((f"{OK4}:25", ()), (f"[{OK6}]:25", ()),
                            (f"{BUSY4}:25", ("-Q", "CONNECT"))):
            lab.start_listener(srv, addr, "smtp-sink", "-u", "nobody", *extra, addr, "100")
        lab.start_postfix(srv, POSTFIX4)
        common = ["--smtp-connect-timeout", str(CONNECT_TIMEOUT_S), "--sweep-interval", "0.2",
                  "--latency-buckets", BUCKETS]
        lab.start_agent(lab.client, lab.client_if, *common, port=CLIENT_PORT)
        lab.start_agent(srv, lab.server_if, *common, port=SERVER_PORT)

    def scrape_both(self):
        return L.scrape(self.lab.client, CLIENT_PORT), L.scrape(self.lab.server, SERVER_PORT)

    def assertNothingLost(self, before, after):
        """A count the sensor could not store is lost: say so instead of a bare mismatch. Real
        traffic from real TCP stacks is never rejected as forged (bpf/lib/tcp.h)."""
        for m in ("smtp_stats", "smtp_flows"):
            self.assertEqual(L.delta(before, after, "mxsense_sensor_map_full_total", map=m), 0,
                             f"the sensor failed to insert into {m}: the counts are short")
        self.assertEqual(L.delta(before, after, "mxsense_sensor_tcp_rejected_total"), 0,
                         "the sensor rejected a real segment as one the receiving TCP drops")

    def wire(self, bpf_filter):
        """tcpdump on the client's link, running once it listens; read() stops it once
        tshark finds `until` in it and returns tshark's fields of the frames matching a filter."""
        lab = self.lab
        path = os.path.join(lab.tmp, f"wire-{len(lab.procs)}.pcap")
        p = lab.start_tcpdump(lab.client, lab.client_if, path, bpf_filter)

        def fields(display_filter, *names):
            r = L.run("tshark", "-r", path, "-Y", display_filter, "-T", "fields",
                      *[a for n in names for a in ("-e", n)], check=False)
            return [line.split("\t") for line in r.stdout.splitlines() if line]

        class Wire:
            def read(self, until, display_filter, *names):
                L.until(lambda: fields(until, "frame.number"), 10, f"{until!r} on the wire",
                        interval=0.05)
                lab.stop(p, signal.SIGINT)
                return fields(display_filter, *names)
        return Wire()

    def synacks(self, server):
        return self.lab.start_capture(
            self.lab.server, self.lab.server_if,
            f"src host {server} and tcp src port 25 and "
            "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)")

    def test_sessions_both_roles(self):
        messages = 12
        cap = self.synacks(OK4)
        c0, s0 = self.scrape_both()
        r = self.lab.client.run("smtp-source", "-s", "3", "-m", str(messages), "-f", "a@example.test",
                                "-t", "b@example.test", f"{OK4}:25", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        c1, s1 = self.scrape_both()
        sessions = cap.count()
        self.assertEqual(sessions, messages)  # smtp-source: one session per message
        for before, after, role in ((c0, c1, "client"), (s0, s1, "server")):
            with self.subTest(role=role):
                self.assertNothingLost(before, after)
                l = dict(server=OK4, role=role)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_connections_total",
                                         outcome="established", **l), sessions)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_connect_duration_seconds_count",
                                         **l), sessions)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_greetings_total", code="220",
                                         **l), sessions)
                # EHLO, MAIL, RCPT and the end of DATA are each answered 250; DATA 354; QUIT 221.
                self.assertEqual(L.delta(before, after, "mxsense_smtp_replies_total", code="250",
                                         **l), 4 * messages)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_replies_total", code="354",
                                         **l), messages)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_replies_total", code="2xx",
                                         **l), messages)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_closed_before_greeting_total",
                                         **l), 0)
        self.assertEqual(L.delta(c0, c1, "mxsense_sensor_parse_errors_total", reason="smtp_unparsed"), 0)

    def test_reply_after_client_fin(self):
        # The client's FIN before the server's 221 (field case min_smtp_quit_fin_then_221): the
        # 221 is a reply like any other. Corked, QUIT and FIN leave in one segment, so the FIN
        # is on the wire before smtp-sink can answer.
        script = f"""
import socket
s = socket.create_connection(("{OK4}", 25), timeout=5)
f = s.makefile("rb")
f.readline()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
s.sendall(b"QUIT\\r\\n")
s.shutdown(socket.SHUT_WR)
print(f.readline().decode().strip())
"""
        wire = self.wire(f"host {OK4} and tcp port 25")
        c0, s0 = self.scrape_both()
        r = self.lab.client.run("/usr/bin/python3", "-c", script, check=False)
        self.assertTrue(r.stdout.startswith("221"), r.stdout + r.stderr)
        frames = wire.read("tcp.srcport == 25 && tcp.flags.fin == 1",
                           "(tcp.dstport == 25 && tcp.flags.fin == 1) || smtp.response.code == 221",
                           "frame.number", "tcp.dstport")
        c1, s1 = self.scrape_both()
        # The wire: the client's FIN, then the server's 221 (frames in capture order).
        self.assertEqual([port == "25" for _, port in frames], [True, False], frames)
        replies_221 = sum(port != "25" for _, port in frames)
        for before, after, role in ((c0, c1, "client"), (s0, s1, "server")):
            with self.subTest(role=role):
                self.assertNothingLost(before, after)
                l = dict(server=OK4, role=role)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_connections_total",
                                         outcome="established", **l), 1)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_greetings_total", code="220",
                                         **l), 1)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_replies_total", code="2xx",
                                         **l), replies_221)

    def test_lost_syn_is_not_connect_latency(self):
        # The server drops the first SYN; the client's kernel sends it again after its 1 s
        # initial RTO. One connection, established, its connect time network loss.
        script = f"""
import socket, time
t = time.monotonic()
s = socket.create_connection(("{OK4}", 25), timeout=5)
print(f"{{time.monotonic() - t:.3f}}")
f = s.makefile("rb")
f.readline()
s.sendall(b"QUIT\\r\\n")
f.readline()
"""
        srv = self.lab.server
        rule = ["INPUT", "-p", "tcp", "-d", OK4, "--dport", "25", "--syn", "-j", "DROP"]
        srv.run("iptables", "-I", *rule)
        wire = self.wire(f"host {OK4} and tcp port 25 and tcp[tcpflags] & tcp-syn != 0")
        try:
            c0, s0 = self.scrape_both()
            client = self.lab.client.popen("/usr/bin/python3", "-c", script)
            L.until(lambda: self.dropped(srv) >= 1, 10, "the first SYN reached the DROP rule",
                    interval=0.02)
        finally:
            srv.run("iptables", "-D", *rule, check=False)
        out, _ = client.communicate(timeout=30)
        self.assertEqual(client.returncode, 0, out)
        syns = wire.read("tcp.flags.syn == 1 && tcp.flags.ack == 1", "tcp.flags.syn == 1",
                         "tcp.dstport", "tcp.seq_raw")
        c1, s1 = self.scrape_both()
        sent = [seq for port, seq in syns if port == "25"]
        self.assertEqual(len(sent), 2, syns)  # the SYN and its retransmission
        self.assertEqual(len(set(sent)), 1, syns)  # same sequence number: one attempt
        self.assertEqual(len(syns) - len(sent), 1, syns)  # one SYN-ACK
        print(f"\nlost SYN: the client waited {out.strip()} s to connect")
        for before, after, role in ((c0, c1, "client"), (s0, s1, "server")):
            with self.subTest(role=role):
                self.assertNothingLost(before, after)
                l = dict(server=OK4, role=role)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_connections_total",
                                         outcome="established", **l), 1)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_connect_retransmitted_total",
                                         **l), 1)
                self.assertEqual(L.delta(before, after,
                                         "mxsense_smtp_connect_duration_seconds_count", **l), 0)

    @staticmethod
    def dropped(host):
        """Packets the first INPUT rule (the SYN drop) has matched."""
        lines = host.run("iptables", "-L", "INPUT", "-v", "-x", "-n", "--line-numbers").stdout
        for line in lines.splitlines():
            if line.startswith("1 "):
                return int(line.split()[1])
        return 0

    def test_ipv6_session(self):
        c0, _ = self.scrape_both()
        r = swaks(self.lab.client, OK6)
        self.assertEqual(r.returncode, 0, r.stdout)
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        l = dict(server=OK6, role="client")
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="established", **l), 1)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_greetings_total", code="220", **l), 1)

    def test_greeting_421(self):
        c0, _ = self.scrape_both()
        for _ in range(3):
            self.assertNotEqual(swaks(self.lab.client, BUSY4).returncode, 0)
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        l = dict(server=BUSY4, role="client")
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="established", **l), 3)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_greetings_total", code="421", **l), 3)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_greetings_total", code="220", **l), 0)

    def test_closed_port_is_refused(self):
        c0, _ = self.scrape_both()
        for _ in range(3):
            self.assertNotEqual(swaks(self.lab.client, CLOSED4).returncode, 0)
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        l = dict(server=CLOSED4, role="client")
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="refused", **l), 3)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="established", **l), 0)

    def test_dropped_syns_time_out_once(self):
        c0, _ = self.scrape_both()
        # swaks waits 4 s: the kernel sends the SYN, then retries it after about 1 s and 3 s.
        self.assertNotEqual(swaks(self.lab.client, BLACKHOLE4).returncode, 0)
        l = dict(server=BLACKHOLE4, role="client")
        # The sweep books the timeout once the connect timeout has passed.
        L.until(lambda: L.delta(c0, L.scrape(self.lab.client, CLIENT_PORT),
                                "mxsense_smtp_connections_total", outcome="timeout", **l) >= 1,
                CONNECT_TIMEOUT_S + 10, "the dropped SYNs booked as a timeout")
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="timeout", **l), 1)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="established", **l), 0)
        self.assertGreaterEqual(L.delta(c0, c1, "mxsense_sensor_smtp_syn_retransmissions_total"), 1)

    def test_icmp_unreachable(self):
        cap = self.lab.start_capture(self.lab.client, self.lab.client_if, "icmp[icmptype] == 3")
        c0, _ = self.scrape_both()
        for _ in range(2):
            self.assertNotEqual(swaks(self.lab.client, REJECT4).returncode, 0)
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        self.assertEqual(cap.count(), 2)
        l = dict(server=REJECT4, role="client")
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="unreachable", **l), 2)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_connections_total", outcome="timeout", **l), 0)

    def test_starttls_with_postfix(self):
        c0, s0 = self.scrape_both()
        for _ in range(2):
            r = swaks(self.lab.client, POSTFIX4, "--tls", "--quit-after", "STARTTLS")
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("TLS started", r.stdout)
        c1, s1 = self.scrape_both()
        for before, after, role in ((c0, c1, "client"), (s0, s1, "server")):
            with self.subTest(role=role):
                self.assertNothingLost(before, after)
                l = dict(server=POSTFIX4, role=role)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_starttls_total",
                                         result="started", **l), 2)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_starttls_total",
                                         result="refused", **l), 0)
                self.assertEqual(L.delta(before, after, "mxsense_smtp_greetings_total", code="220",
                                         **l), 2)
        self.assertEqual(L.delta(c0, c1, "mxsense_sensor_parse_errors_total", reason="smtp_unparsed"), 0)

    def test_starttls_refused(self):
        # smtp-sink does not implement STARTTLS: it answers 500. swaks will not send STARTTLS
        # unless it is advertised, so a few lines of Python speak SMTP here.
        script = f"""
import socket
f = socket.create_connection(("{OK4}", 25), timeout=5).makefile("rwb")
def reply():
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            return line
reply()
for cmd in (b"EHLO client.example.test", b"STARTTLS", b"QUIT"):
    f.write(cmd + b"\\r\\n"); f.flush()
    print(reply().decode().strip())
"""
        c0, _ = self.scrape_both()
        r = self.lab.client.run("/usr/bin/python3", "-c", script, check=False)
        self.assertIn("500", r.stdout, r.stderr)
        c1, _ = self.scrape_both()
        self.assertNothingLost(c0, c1)
        l = dict(server=OK4, role="client")
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_starttls_total", result="refused", **l), 1)
        self.assertEqual(L.delta(c0, c1, "mxsense_smtp_starttls_total", result="started", **l), 0)

    def test_connect_latency_follows_injected_delay(self):
        delay_ms = 20
        srv = self.lab.server
        self.lab.start_delayer(srv, 8, delay_ms)
        rule = ["OUTPUT", "-p", "tcp", "-s", OK4, "--sport", "25", "-j", "NFQUEUE",
                "--queue-num", "8"]
        srv.run("iptables", "-A", *rule)
        # The independent figure: the handshakes on the client's wire. The sensor times SYN
        # to SYN-ACK between the same interface's hooks, so its median lies between the
        # injected delay and the capture's (plus the buckets' interpolation). A fixed bound
        # above the delay fails on a loaded machine, where the delayer itself runs late.
        cap = self.lab.start_capture(self.lab.client, self.lab.client_if,
                                     f"tcp port 25 and host {OK4}")
        try:
            c0, _ = self.scrape_both()
            for _ in range(5):
                self.assertEqual(swaks(self.lab.client, OK4, "--quit-after", "EHLO").returncode, 0)
            c1, _ = self.scrape_both()
            self.assertNothingLost(c0, c1)
        finally:
            srv.run("iptables", "-D", *rule, check=False)
        wire = cap.handshakes()
        self.assertEqual(len(wire), 5, wire)
        median = L.histogram_quantile(c0, c1, "mxsense_smtp_connect_duration_seconds", 0.5,
                                      server=OK4, role="client")
        print(f"\ninjected delay {delay_ms} ms: measured SMTP connect median {median * 1000:.2f} ms"
              f", the capture's {statistics.median(wire) * 1000:.2f} ms")
        self.assertGreaterEqual(median, delay_ms / 1000)
        self.assertLessEqual(median, statistics.median(wire) + 0.001)


if __name__ == "__main__":
    unittest.main()
