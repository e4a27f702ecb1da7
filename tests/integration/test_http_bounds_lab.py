"""The agent's HTTP server against hostile clients (issue 12, "Bounded inputs: HTTP").

The agent runs in the lab's client namespace under a descriptor limit of NOFILE (prlimit);
the test's sockets are made in that namespace (setns) and judged by what the client sees:
statuses, the server's FIN or a reset, times, the agent's CPU from /proc/PID/stat.

- FLOOD idle connections, more than the agent's descriptor limit: it stays near 0 % CPU
  (main spun at ~100 % retrying accept) and every scrape succeeds while the flood is held;
  the connections it closed for new ones are the ones the clients saw closed.
- Clients that pipeline scrapes and never read the answers, in every slot: scrapes still
  succeed, each in the slot of a stalled one (main: refused until the send deadline).
- Deadlines: no byte, a slowloris header, a slow body, an idle kept-alive connection: each
  closed at its own deadline (main: 30 s for all).
- Unreadable requests answered and closed, not reset: 400 (a bad field, a TLS ClientHello),
  431 (header), 413 (body, also while the client is still sending it); 405 with Allow.
- The webhook's `Authorization: Bearer` scheme in any case (RFC 7235 §2.1).

MXSENSE_HTTP_LEGACY_CONFIG=1 leaves the `http:` section out of the agent's configuration, so
the suite runs against a build that does not know it (main's) and shows how that fails.
"""
import os
import select
import socket
import time
import unittest

import lab as L

PORT = 10191
TOKEN = "http-bounds-token-0123456789"
NOFILE = 128  # the agent's descriptor limit
FLOOD = 200  # idle connections: more than NOFILE
HEADER_TIMEOUT, IDLE_TIMEOUT, BODY_TIMEOUT = 5, 3, 4  # distinct: each close names its deadline
LEGACY = os.environ.get("MXSENSE_HTTP_LEGACY_CONFIG") == "1"
def closed_by_peer(s):
    """Whether the server closed s (FIN or reset); reads and drops what is there."""
    try:
        while select.select([s], [], [], 0)[0]:
            if not s.recv(65536):
                return True
    except OSError:
        return True
    return False


def read_response(s):
    """One response with a Content-Length, read whole (the connection stays open)."""
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(65536)
    head, body = got.split(b"\r\n\r\n", 1)
    length = int(head.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += s.recv(65536)
    return head, body


class HttpBoundsLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = lab = L.Lab.for_test_class(cls)
        t = lab.tmp
        with open(f"{t}/token", "w") as f:
            f.write(TOKEN + "\n")
        http = "" if LEGACY else (f"http: {{header_timeout: {HEADER_TIMEOUT}, "
                                  f"idle_timeout: {IDLE_TIMEOUT}, body_timeout: {BODY_TIMEOUT}}}\n")
        with open(f"{t}/agent.yaml", "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: ""
dns_servers: [{lab.SERVER4}]
probes: {{enabled: false}}
hooks: [{{name: switch, events: [], argv: [/bin/true]}}]
webhook: {{enabled: true, token_file: {t}/token, hook: switch}}
{http}""")
        cls.agent = lab.start(lab.client, "prlimit", f"--nofile={NOFILE}:{NOFILE}", L.MXSENSE,
                              "agent", "--config", f"{t}/agent.yaml",
                              ready=lambda: lab.serves_metrics(lab.client, PORT))
        with open(f"/proc/{cls.agent.pid}/comm") as f:
            assert f.read().strip() == "mxsense"  # prlimit and ip netns exec exec'd it

    def connect(self, timeout=5):
        with L.netns(self.lab.client.name):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", PORT))
        return s

    def exchange(self, data, timeout=5):
        """Send data and read until the server closes: (bytes received, "fin" or "reset")."""
        s = self.connect(timeout)
        got, end = b"", "fin"
        try:
            s.sendall(data)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        except (ConnectionResetError, BrokenPipeError):
            end = "reset"
        finally:
            s.close()
        return got, end

    def get(self, path):
        """GET path on a new connection from this process (no process to start: fast enough
        to run while a flood is held): (status, body); (None, why) when it failed."""
        try:
            got, _ = self.exchange(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                   "\r\n".encode(), timeout=2)
        except OSError as e:
            return None, repr(e)
        head, _, body = got.partition(b"\r\n\r\n")
        return (int(head.split()[1]) if head else None), body.decode()

    def metrics(self):
        status, body = self.get("/metrics")
        self.assertEqual(status, 200, f"a scrape failed: {body}")
        return L.parse_metrics(body)

    def curl(self, *args):
        return self.lab.client.run("curl", "-s", "-m", "2", *args, check=False)

    def test_idle_flood_beyond_the_descriptor_limit(self):
        pid = self.agent.pid
        with open(f"/proc/{pid}/limits") as f:
            limit = next(line for line in f if line.startswith("Max open files")).split()[3]
        self.assertEqual(int(limit), NOFILE)
        before = self.metrics()
        flood = []
        try:
            for _ in range(FLOOD):
                flood.append(self.connect())
            start = time.monotonic()
            cpu0 = L.cpu_seconds(pid)
            time.sleep(2)  # the measurement: what the agent does while the flood is held
            cpu = (L.cpu_seconds(pid) - cpu0) / (time.monotonic() - start)
            scrapes = [self.get("/metrics")[0] for _ in range(5)]
            status, text = self.get("/metrics")
            held = time.monotonic() - start
            after = L.parse_metrics(text) if status == 200 else {}
            evicted = sum(L.delta(before, after, "mxsense_http_connections_rejected_total",
                                  reason=r) for r in ("evicted", "limit"))

            def seen_closed():
                n = sum(closed_by_peer(s) for s in flood)
                return (n,) if n >= evicted else None
            closed = L.until(seen_closed, 2, f"the clients to see the {evicted} connections "
                             "the agent closed for new ones")[0]
        finally:
            for s in flood:
                s.close()
        print(f"\nflood of {FLOOD} (descriptor limit {NOFILE}): agent CPU {cpu:.1%} of a core "
              f"over {held:.1f} s; {closed} connections closed for new ones; scrapes {scrapes}; "
              f"connection limit {L.value(after, 'mxsense_http_connections_limit'):.0f}")
        self.assertLess(cpu, 0.05, "the agent spins while its descriptors are taken")
        self.assertEqual(scrapes, [200] * 5)
        self.assertLess(held, HEADER_TIMEOUT - 0.5, "the flood must be held through the scrapes")
        self.assertEqual(L.delta(before, after, "mxsense_http_connections_timed_out_total"), 0)
        # Every flood connection the server closed was closed for a newer one, as counted.
        self.assertEqual(closed, evicted)
        self.assertEqual(L.value(after, "mxsense_http_connections"), FLOOD - closed + 1)
        self.assertLessEqual(L.value(after, "mxsense_http_connections"),
                             L.value(after, "mxsense_http_connections_limit"))

    def test_clients_that_never_read_their_answers(self):
        """Every connection slot held by a client that pipelines scrapes and never reads the
        answers (a 1 KiB receive buffer): the agent's writes stall. Scrapes still succeed, each
        taking the slot of a stalled one (main: refused until the send deadline)."""
        before = self.metrics()
        limit = int(L.value(before, "mxsense_http_connections_limit"))
        requests = b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * 300
        hogs = []
        try:
            for _ in range(limit):
                with L.netns(self.lab.client.name):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                s.settimeout(5)
                s.connect(("127.0.0.1", PORT))
                s.sendall(requests)
                hogs.append(s)
            time.sleep(1.5)  # every answer in progress for over a second: stalled
            scrapes = [self.get("/metrics") for _ in range(3)]
            after = L.parse_metrics(scrapes[-1][1]) if scrapes[-1][0] == 200 else {}
            closed = sum(closed_by_peer(s) for s in hogs)
        finally:
            for s in hogs:
                s.close()
        print(f"\n{limit} connections not reading their answers: scrapes "
              f"{[st for st, _ in scrapes]}; {closed} of them closed for the scrapes")
        self.assertEqual([st for st, _ in scrapes], [200] * 3, scrapes[0][1][:300])
        self.assertEqual(L.delta(before, after, "mxsense_http_connections_rejected_total",
                                 reason="limit"), 0)
        # The first scrape found every slot taken by a stalled answer; the next ones found the
        # slot the previous scrape left (HTTP/1.1 "Connection: close").
        self.assertGreaterEqual(
            L.delta(before, after, "mxsense_http_connections_rejected_total", reason="evicted"), 1)
        self.assertGreaterEqual(closed, 1)

    def test_deadlines(self):
        """Four connections at once, each closed at its own deadline: no byte (header deadline
        from the accept), a header one byte per 0.25 s (slowloris), a body one byte per 0.25 s
        after a complete header, and a kept-alive connection idle after its response."""
        silent, loris, body, idle = (self.connect() for _ in range(4))
        t0 = time.monotonic()
        loris.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n")
        body.sendall(b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        t_body = time.monotonic()
        idle.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: t\r\n\r\n")
        read_response(idle)
        t_idle = time.monotonic()
        expect = {"silent": (silent, t0 + HEADER_TIMEOUT), "slowloris": (loris, t0 + HEADER_TIMEOUT),
                  "body": (body, t_body + BODY_TIMEOUT), "idle": (idle, t_idle + IDLE_TIMEOUT)}
        closed_at = {}
        give_up = max(d for _, d in expect.values()) + 1.5
        next_byte = time.monotonic()
        try:
            while len(closed_at) < len(expect) and time.monotonic() < give_up:
                now = time.monotonic()
                if now >= next_byte:  # the trickles
                    next_byte = now + 0.25
                    for name, s, byte in (("slowloris", loris, b"X"), ("body", body, b"{")):
                        if name not in closed_at:
                            try:
                                s.send(byte)
                            except OSError:
                                closed_at[name] = now
                open_ = [s for n, (s, _) in expect.items() if n not in closed_at]
                readable = select.select(open_, [], [], max(0.0, next_byte - now))[0]
                for name, (s, _) in expect.items():
                    if s in readable and name not in closed_at and closed_by_peer(s):
                        closed_at[name] = time.monotonic()
        finally:
            for s, _ in expect.values():
                s.close()
        late = {n: round(closed_at[n] - d, 2) if n in closed_at else None
                for n, (_, d) in expect.items()}
        print(f"\nclosed relative to the deadline (s): {late}")
        for name, delay in late.items():
            self.assertIsNotNone(delay, f"{name}: still open 1.5 s after its deadline")
            self.assertGreater(delay, -0.3, f"{name}: closed before its deadline")
            self.assertLess(delay, 1.0, f"{name}: closed {delay} s after its deadline")

    def test_unreadable_requests_are_answered(self):
        before = self.metrics()
        big = b"x" * 10000
        body = b"{" + b" " * (256 << 10)
        chunked = b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"

        def te_body(codings):
            return (b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " +
                    codings + b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        cases = [
            ("a field without a colon", b"GET /metrics HTTP/1.1\r\nHost t\r\n\r\n", 400),
            ("a TLS ClientHello", bytes.fromhex("160301020001000001fc0303") + os.urandom(64), 400),
            ("a header over 8 KiB", b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + big +
             b"\r\n\r\n", 431),
            ("a body over 1 MiB, still being sent",
             b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
             TOKEN.encode() + b"\r\nContent-Length: 2097152\r\n\r\n" + body, 413),
            ("a chunked body over 1 MiB",
             b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
             b"\r\n\r\n200000\r\n" + body, 413),
            # Beast bounds neither a chunk's extensions nor the trailer (33 MB grew the agent
            # by 86 MB); they are bounded with the header.
            ("a chunk extension of 200 KiB",
             chunked + b"5;ext=" + b"e" * (200 << 10) + b"\r\nhello\r\n0\r\n\r\n", 431),
            ("a trailer section of 200 KiB",
             chunked + b"5\r\nhello\r\n0\r\nX-Trailer: " + b"t" * (200 << 10) + b"\r\n\r\n",
             431),
            # RFC 9112 §6.3: the body's length is unknown; read as no body, the body would be
            # taken for the next request (request smuggling behind a proxy).
            ("chunked not the final transfer coding",
             te_body(b"chunked, gzip"), 400),
            ("a transfer coding other than chunked", te_body(b"gzip, chunked"), 501),
            ("an expectation other than 100-continue",
             b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n"
             b"Content-Length: 2\r\n\r\n{}", 417),
        ]
        for what, data, status in cases:
            with self.subTest(what):
                got, end = self.exchange(data)
                self.assertTrue(got.startswith(f"HTTP/1.1 {status} ".encode()), got[:200])
                self.assertIn(b"\r\nConnection: close\r\n", got)
                self.assertEqual(end, "fin", "the answer must not be destroyed by a reset")
        after = self.metrics()
        for reason, n in (("malformed", 3), ("header_too_large", 3), ("body_too_large", 2),
                          ("unsupported", 2)):
            self.assertEqual(
                L.delta(before, after, "mxsense_http_bad_requests_total", reason=reason), n)
        for data, allow in ((b"BREW /metrics HTTP/1.1\r\nHost: t\r\n\r\n", b"GET, HEAD"),
                            (b"GET /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\n\r\n", b"POST")):
            s = self.connect()
            s.sendall(data)
            got = s.recv(65536)
            s.close()
            self.assertTrue(got.startswith(b"HTTP/1.1 405 "), got[:200])
            self.assertIn(b"\r\nAllow: " + allow + b"\r\n", got)

    def test_absolute_form_and_expect_continue(self):
        """RFC 9112 §3.2.2: a server MUST accept an absolute-form target (main: 404). RFC 9110
        §10.1.1: a client that sends `Expect: 100-continue` waits for 100 before its body
        (curl does for bodies over 1 KiB; main never sent it, curl waited 1 s)."""
        got, _ = self.exchange(f"GET http://127.0.0.1:{PORT}/metrics HTTP/1.1\r\nHost: t\r\n"
                               "Connection: close\r\n\r\n".encode())
        self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:200])
        self.assertIn(b"\nmxsense_http_connections ", got)
        body = b'{"alerts": []}'
        s = self.connect(timeout=2)
        try:
            s.sendall(b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                      TOKEN.encode() + b"\r\nContent-Type: application/json\r\nExpect: "
                      b"100-continue\r\nContent-Length: " + str(len(body)).encode() +
                      b"\r\n\r\n")
            interim = s.recv(65536)  # before the body: the server must not wait for it
            s.sendall(body)
            head, _ = read_response(s)
        finally:
            s.close()
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)

    def test_bearer_scheme_in_any_case(self):
        before = self.metrics()
        codes = {}
        for scheme, token in (("Bearer", TOKEN), ("bearer", TOKEN), ("BEARER", TOKEN),
                              ("bearer", TOKEN[:-1] + "x"), ("Basic", TOKEN)):
            codes[f"{scheme} {token == TOKEN}"] = self.curl(
                "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: {scheme} {token}",
                "-H", "Content-Type: application/json", "--data", '{"alerts": []}',
                f"http://127.0.0.1:{PORT}/api/v1/alertmanager").stdout
        self.assertEqual(codes, {"Bearer True": "200", "bearer True": "200", "BEARER True": "200",
                                 "bearer False": "401", "Basic True": "401"})
        after = self.metrics()
        self.assertEqual(L.delta(before, after, "mxsense_webhook_requests_total", result="ok"), 3)
        self.assertEqual(
            L.delta(before, after, "mxsense_webhook_requests_total", result="unauthorized"), 2)


if __name__ == "__main__":
    unittest.main()
