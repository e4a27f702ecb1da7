"""The web configuration (issue 16, "Web endpoints like an exporter"): TLS and basic auth on the
agent's endpoints, the webhook on a listener of its own, and what an attacker can do to them.

The agent runs in the lab's client namespace with a certificate made here by `openssl req` and
a user whose bcrypt hash `htpasswd` (Apache's apache2-utils: an implementation other than the
agent's libxcrypt) made; clients are curl, promtool, `mxsense status` and Python sockets made in
that namespace.
"""
import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import statistics
import subprocess
import threading
import time
import unittest

import lab as L

PORT, HOOK_PORT, PROM = 10193, 10194, 10195
HERE = os.path.dirname(os.path.abspath(__file__))
USER = "prometheus"
PASSWORD = secrets.token_urlsafe(12)
TOKEN = "web-lab-token-0123456789"
HEADER_TIMEOUT = 3
ATTACKERS = 24  # more than the 16 verifications the agent lets wait


def base64_of(text):
    return base64.b64encode(text.encode()).decode()


def htpasswd(user, password, cost=10):
    return L.run("htpasswd", "-nbBC", str(cost), user, password).stdout.strip().split(":", 1)[1]



class Guessers:
    """`count` keep-alive TLS clients in the lab client's namespace (from `source`, if given),
    each asking /metrics with a new wrong password for USER until stop(); `answers` counts
    their responses by status."""

    def __init__(self, lab, cafile, count, source=None):
        self.lab, self.source, self.answers = lab, source, {}
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.halt, self.lock = threading.Event(), threading.Lock()
        self.threads = [threading.Thread(target=self.guess, args=(i,)) for i in range(count)]

    def guess(self, i):
        with L.netns(self.lab.client.name):
            c = http.client.HTTPSConnection(
                "127.0.0.1", PORT, context=self.ctx, timeout=10,
                source_address=(self.source, 0) if self.source else None)
            c.connect()
        n = 0
        while not self.halt.is_set():
            cred = base64_of(f"{USER}:guess-{i}-{n}")
            c.request("GET", "/metrics", headers={"Authorization": f"Basic {cred}"})
            r = c.getresponse()
            r.read()
            with self.lock:
                self.answers[r.status] = self.answers.get(r.status, 0) + 1
            n += 1
        c.close()

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join()

class WebLab(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = lab = L.Lab.for_test_class(cls)
        t = lab.tmp
        cls.cert, cls.key = f"{t}/cert.pem", f"{t}/key.pem"
        L.run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=mxsense-agent",
              "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", cls.key, "-out", cls.cert)
        with open(f"{t}/token", "w") as f:
            f.write(TOKEN + "\n")
        cls.password_file = f"{t}/password"
        with open(cls.password_file, "w") as f:
            f.write(PASSWORD + "\n")
        cls.web = f"{t}/web.yml"
        cls.write_web({USER: htpasswd(USER, PASSWORD)})
        with open(f"{t}/agent.yaml", "w") as f:
            f.write(f"""interfaces: [{lab.client_if}]
listen: 0.0.0.0:{PORT}
web_config_file: {cls.web}
state_file: ""
dns_servers: [{lab.SERVER4}]
probes: {{enabled: false}}
hooks: [{{name: switch, events: [], argv: [/bin/true]}}]
webhook: {{enabled: true, token_file: {t}/token, hook: switch, listen: 127.0.0.1:{HOOK_PORT}}}
http: {{header_timeout: {HEADER_TIMEOUT}}}
""")
        cls.agent = lab.start(lab.client, L.MXSENSE, "agent", "--config", f"{t}/agent.yaml",
                              ready=lambda: cls.curl("/metrics")[0] == 200)

    @classmethod
    def write_web(cls, users):
        lines = "".join(f"  {u}: '{h}'\n" for u, h in users.items())
        with open(cls.web, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {cls.cert}\n  key_file: {cls.key}\n"
                    f"basic_auth_users:\n{lines}")

    @classmethod
    def curl(cls, path, *args, auth=(USER, PASSWORD), scheme="https", port=PORT, source=None):
        """(status, headers and body) of a GET by curl in the client namespace (from address
        `source` when given); status 0 when curl failed (its exit code is in the text)."""
        cmd = ["curl", "-s", "-i", "-m", "5", "--cacert", cls.cert, *args]
        if source:
            cmd += ["--interface", source]
        if auth:
            cmd += ["-u", f"{auth[0]}:{auth[1]}"]
        r = cls.lab.client.run(*cmd, f"{scheme}://127.0.0.1:{port}{path}", check=False)
        if r.returncode != 0:
            return 0, f"curl exit {r.returncode}: {r.stderr}"
        return int(r.stdout.split()[1]), r.stdout

    def metrics(self):
        status, text = self.curl("/metrics")
        self.assertEqual(status, 200, text)
        return L.parse_metrics(text.split("\n\n", 1)[1])  # curl -i; text mode: \r\n read as \n

    def test_scrape_over_tls_with_basic_auth(self):
        r = self.lab.client.run("curl", "-sf", "--cacert", self.cert, "-u", f"{USER}:{PASSWORD}",
                                f"https://127.0.0.1:{PORT}/metrics")
        check = L.run("promtool", "check", "metrics", input=r.stdout, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("mxsense_http_unauthorized_requests_total", r.stdout)
        for path in ("/", "/api/v1/status"):
            self.assertEqual(self.curl(path)[0], 200, path)
            self.assertEqual(self.curl(path, auth=None)[0], 401, path)
        # TLS 1.1 is refused; TLS 1.2 and 1.3 are served.
        self.assertEqual(self.curl("/metrics", "--tls-max", "1.1")[0], 0)
        self.assertEqual(self.curl("/metrics", "--tls-max", "1.2")[0], 200)
        self.assertEqual(self.curl("/metrics", "--tlsv1.3")[0], 200)
        # A client that does not know the CA refuses the agent (curl's own verification).
        self.assertEqual(self.lab.client.run("curl", "-sf", "-u", f"{USER}:{PASSWORD}",
                                             f"https://127.0.0.1:{PORT}/metrics",
                                             check=False).returncode, 60)

    def test_prometheus_scrapes_with_the_documented_configuration(self):
        """docs/alerts.md's TLS and basic-auth scrape block, its paths and targets replaced by
        the lab's, in a real Prometheus: the agent is up."""
        with open(os.path.join(HERE, "..", "..", "docs", "alerts.md")) as f:
            block = next(b for b in re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
                         if "scheme: https" in b)
        t = self.lab.tmp
        block = block.replace("/etc/prometheus/mxsense-ca.pem", self.cert)
        block = block.replace("/etc/prometheus/mxsense.password", self.password_file)
        block = re.sub(r"targets: \[[^]]*\]", f'targets: ["127.0.0.1:{PORT}"]', block)
        with open(f"{t}/prometheus.yml", "w") as f:
            f.write("global: {scrape_interval: 1s}\n" + block)
        check = L.run("promtool", "check", "config", f"{t}/prometheus.yml", check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        def get(path):
            r = self.lab.client.run("curl", "-sf", "-m", "5", f"http://127.0.0.1:{PROM}{path}",
                                    check=False)
            return r.stdout if r.returncode == 0 else None
        self.lab.start(self.lab.client, "prometheus", f"--config.file={t}/prometheus.yml",
                       f"--storage.tsdb.path={t}/prom", f"--web.listen-address=127.0.0.1:{PROM}",
                       ready=lambda: get("/-/ready"))

        def up():
            out = get("/api/v1/targets")
            targets = json.loads(out)["data"]["activeTargets"] if out else []
            return targets if targets and targets[0]["health"] == "up" else None
        targets = L.until(up, 20, "Prometheus to scrape the agent",
                          detail=lambda: get("/api/v1/targets"))
        self.assertEqual(targets[0]["scrapeUrl"], f"https://127.0.0.1:{PORT}/metrics")

    def test_status_command_over_tls_with_basic_auth(self):
        base = [L.MXSENSE, "status", "--agent", f"https://127.0.0.1:{PORT}", "--ca-file", self.cert]
        r = self.lab.client.run(*base, "--user", USER, "--password-file", self.password_file,
                                "--json", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"targets"', r.stdout)
        r = self.lab.client.run(*base, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("HTTP 401", r.stderr)
        r = self.lab.client.run(*base, "--user", USER, check=False)  # no password file
        self.assertEqual(r.returncode, 2)
        self.assertIn("--password-file", r.stderr)
        # Review finding 8: credentials refused are said to be; the server's text is shown.
        wrong = f"{self.lab.tmp}/wrong-password"
        with open(wrong, "w") as f:
            f.write("wrong\n")
        r = self.lab.client.run(*base, "--user", USER, "--password-file", wrong, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"HTTP 401: the agent refused the credentials of user '{USER}'", r.stderr)
        creds = ["--user", USER, "--password-file", self.password_file]
        r = self.lab.client.run(L.MXSENSE, "status", "--agent", f"127.0.0.1:{PORT}", *creds,
                                check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("warning: --user over plain http:// (this host only: loopback)", r.stderr)
        self.assertIn("HTTP 400: 'this port speaks TLS: use https:// to reach it'", r.stderr)
        # Never in plain text to another host (refused before any connection is made).
        for agent in ("198.18.0.99:1", "http://[fd00::99]:1/", "http://agent.example:1"):
            r = self.lab.client.run(L.MXSENSE, "status", "--agent", agent, *creds, check=False)
            self.assertEqual(r.returncode, 2, agent)
            self.assertIn("would send the password in plain text to another host; use https://",
                          r.stderr)

    def test_without_or_with_wrong_credentials_401(self):
        before = self.metrics()
        cases = (None, (USER, "wrong"), ("nobody", PASSWORD), (USER, PASSWORD + "x"))
        for auth in cases:
            status, text = self.curl("/metrics", auth=auth)
            self.assertEqual(status, 401, f"{auth}: {text}")
            self.assertIn('WWW-Authenticate: Basic realm="mxsense", charset="UTF-8"', text)
        after = self.metrics()
        self.assertEqual(L.delta(before, after, "mxsense_http_unauthorized_requests_total",
                                 reason="missing"), 1)
        self.assertEqual(L.delta(before, after, "mxsense_http_unauthorized_requests_total",
                                 reason="invalid"), 3)

    def test_plain_http_to_the_tls_port_fails_cleanly(self):
        before = self.metrics()
        status, text = self.curl("/metrics", scheme="http")
        self.assertEqual(status, 400, text)
        self.assertIn("this port speaks TLS: use https://", text)
        after = self.metrics()
        self.assertEqual(L.delta(before, after, "mxsense_http_tls_failures_total",
                                 reason="plain_http"), 1)

    def test_webhook_on_its_own_listener(self):
        body = '{"version": "4", "status": "firing", "alerts": []}'
        hook = ["-X", "POST", "-H", "Content-Type: application/json", "--data", body]
        status, text = self.curl("/api/v1/alertmanager", *hook, "-H",
                                 f"Authorization: Bearer {TOKEN}", auth=None, port=HOOK_PORT)
        self.assertEqual(status, 200, text)
        status, text = self.curl("/api/v1/alertmanager", *hook, "-H",
                                 "Authorization: Bearer wrong-token-0123456789", auth=None,
                                 port=HOOK_PORT)
        self.assertEqual(status, 401, text)
        # Its listener serves nothing else; the main one does not serve it.
        self.assertEqual(self.curl("/metrics", port=HOOK_PORT)[0], 404)
        self.assertEqual(self.curl("/api/v1/alertmanager", *hook, "-H",
                                   f"Authorization: Bearer {TOKEN}", auth=None)[0], 404)

    def test_slow_handshakes_are_closed_at_the_header_deadline(self):
        """Connections that send nothing, or half a ClientHello, are closed HEADER_TIMEOUT after
        the accept (counted as handshake timeouts); scrapes go on meanwhile."""
        before = self.metrics()
        with L.netns(self.lab.client.name):
            socks = [socket.create_connection(("127.0.0.1", PORT), timeout=10) for _ in range(6)]
        start = time.monotonic()
        for s in socks[3:]:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's start
        self.assertEqual(self.curl("/metrics")[0], 200)
        closed = []
        for s in socks:
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
            closed.append(time.monotonic() - start)
            s.close()
        print(f"\nslow handshakes closed after {min(closed):.1f}-{max(closed):.1f} s "
              f"(header_timeout {HEADER_TIMEOUT} s)")
        self.assertGreater(min(closed), HEADER_TIMEOUT - 0.5)
        self.assertLess(max(closed), HEADER_TIMEOUT + 2)
        after = self.metrics()
        self.assertEqual(L.delta(before, after, "mxsense_http_connections_timed_out_total",
                                 phase="handshake"), 6)

    def test_huge_authorization_header(self):
        status, text = self.curl("/metrics", "-H", "Authorization: Basic " + "QUFB" * 30000,
                                 auth=None)
        self.assertEqual(status, 431, text)
        self.assertEqual(self.curl("/metrics")[0], 200)

    def test_many_bad_passwords_in_parallel(self):
        """Clients sending wrong passwords as fast as they can, over kept-alive TLS connections:
        the agent's CPU stays near one core (one verification at a time), the surplus is
        answered 503 at once, and scrapes with the right password (remembered) are answered
        fast throughout."""
        flood = Guessers(self.lab, self.cert, ATTACKERS)
        pid = self.agent.pid
        # Remembered before the flood (the attackers share the scrapes' address, 127.0.0.1).
        L.until(lambda: self.curl("/metrics")[0] == 200, 10, "a scrape with the password")
        flood.start()
        try:
            time.sleep(1)
            cpu0, t0 = L.cpu_seconds(pid), time.monotonic()
            latencies = []
            for _ in range(10):
                s = time.monotonic()
                status, text = self.curl("/metrics")
                latencies.append(time.monotonic() - s)
                self.assertEqual(status, 200, text)
                time.sleep(0.3)
            cpu = (L.cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        finally:
            flood.stop()
        answers = flood.answers
        print(f"\n{ATTACKERS} clients guessing passwords: {answers}; agent CPU {cpu:.2f} cores; good "
              f"scrapes (curl, new TLS connection each) median {statistics.median(latencies):.3f} "
              f"s, max {max(latencies):.3f} s")
        self.assertGreater(answers.get(401, 0), 0)
        self.assertGreater(answers.get(503, 0), 0, "the queue bound was never reached")
        self.assertLess(cpu, 1.5, "more than one verification at a time")
        self.assertLess(statistics.median(latencies), 1.0)

    def reload_and_wait(self):
        """SIGHUP, then until the agent's log says the reload was applied or refused."""
        def outcomes():
            text = self.lab.log(self.agent)
            return text.count("reloaded ") + text.count("reload refused") + text.count(
                "reload failed")
        before = outcomes()
        os.kill(self.agent.pid, signal.SIGHUP)
        L.until(lambda: outcomes() > before, 10, "the reload to be done",
                detail=lambda: self.lab.log(self.agent))

    def test_a_flood_from_one_address_does_not_lock_out_another(self):
        """Review finding 1: right after a reload that re-hashed the user's password (nothing
        remembered), 20 kept-alive TLS clients on 127.0.0.1 send wrong passwords for 6 s while
        curl scrapes with the right one from 127.0.0.2 every 0.5 s. Each address has its share
        of the verification queue, so the scrapes are answered (they were 503, 0 of 13)."""
        with open(self.web) as f:
            good = f.read()
        self.write_web({USER: htpasswd(USER, PASSWORD)})  # the same password, another salt
        flood = Guessers(self.lab, self.cert, 20, source="127.0.0.1")
        try:
            self.reload_and_wait()
            self.assertIn("reloaded ", self.lab.log(self.agent))
            flood.start()
            time.sleep(0.5)
            good_scrapes = []
            end = time.monotonic() + 6
            while time.monotonic() < end:
                good_scrapes.append(self.curl("/metrics", source="127.0.0.2")[0])
                time.sleep(0.5)
        finally:
            flood.stop()
            with open(self.web, "w") as f:
                f.write(good)
            self.reload_and_wait()
            L.until(lambda: self.curl("/metrics")[0] == 200, 10, "the first file back")
        answers = flood.answers
        print(f"\nflood from 127.0.0.1 after a reload: {answers}; scrapes from 127.0.0.2: "
              f"{good_scrapes}")
        self.assertGreater(answers.get(503, 0), 0, "the flood never filled its share")
        self.assertGreaterEqual(len(good_scrapes), 6)
        self.assertGreaterEqual(good_scrapes.count(200), len(good_scrapes) - 1, good_scrapes)
        self.assertEqual(good_scrapes[-3:], [200] * 3, good_scrapes)

    def test_a_reload_never_strips_tls_or_auth_from_an_exposed_listener(self):
        """Review finding 2: `listen` is 0.0.0.0 here. A reload whose web configuration drops
        the users, or is empty, is refused (logged as an error), and the agent still asks for
        credentials over TLS; check-config warns of an exposed listener without either."""
        with open(self.web) as f:
            good = f.read()
        log = lambda: self.lab.log(self.agent)  # noqa: E731
        self.assertNotIn("reachable beyond this host", log())  # TLS and auth: nothing to say
        try:
            with open(self.web, "w") as f:
                f.write(good.split("basic_auth_users:")[0])
            self.reload_and_wait()
            self.assertIn("reload refused, the running configuration stays: it removes basic "
                          f"auth from listen 0.0.0.0:{PORT}, reachable beyond this host", log())
            self.assertEqual(self.curl("/metrics", auth=None)[0], 401)
            with open(self.web, "w") as f:
                f.write("")
            self.reload_and_wait()
            self.assertIn(f"it removes TLS from listen 0.0.0.0:{PORT}, basic auth from listen "
                          f"0.0.0.0:{PORT}, reachable", log())
            self.assertEqual(self.curl("/metrics", auth=None)[0], 401)
            self.assertEqual(self.curl("/metrics", scheme="http", auth=None)[0], 400)
        finally:
            with open(self.web, "w") as f:
                f.write(good)
            self.reload_and_wait()
        self.assertEqual(self.curl("/metrics")[0], 200)
        t = self.lab.tmp
        with open(f"{t}/exposed.yaml", "w") as f:
            f.write(f"interfaces: [lo]\nlisten: 0.0.0.0:{PORT}\nstate_file: ''\n")
        r = L.run(L.MXSENSE, "check-config", f"{t}/exposed.yaml", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"warning: listen 0.0.0.0:{PORT} is reachable beyond this host and serves "
                      "the metrics, status page and API without TLS and authentication", r.stderr)

    def test_two_authorization_fields_are_a_bad_request(self):
        """Review finding 9: which of two Authorization fields counts must not be guessed."""
        before = self.metrics()
        right = "Authorization: Basic " + base64_of(f"{USER}:{PASSWORD}")
        wrong = "Authorization: Basic " + base64_of(f"{USER}:wrong")
        status, text = self.curl("/metrics", "-H", right, "-H", wrong, auth=None)
        self.assertEqual(status, 400, text)
        self.assertIn("more than one Authorization field", text)
        self.assertEqual(self.curl("/api/v1/alertmanager", "-H", f"Authorization: Bearer {TOKEN}",
                                   "-H", "Authorization: Bearer x", auth=None,
                                   port=HOOK_PORT)[0], 400)
        after = self.metrics()
        self.assertEqual(L.delta(before, after, "mxsense_http_bad_requests_total",
                                 reason="malformed"), 2)

    def test_client_certificates(self):
        """client_auth_type RequireAndVerifyClientCert (applied by a reload): a client with a
        certificate of client_ca_file's CA gets through, one without a certificate or with a
        certificate of another CA fails the handshake."""
        t = self.lab.tmp
        for name in ("ca", "other-ca"):
            L.run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                  "-keyout", f"{t}/{name}.key", "-out", f"{t}/{name}.pem")
            L.run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-subj", f"/CN=client-of-{name}", "-keyout", f"{t}/{name}-client.key",
                  "-out", f"{t}/{name}-client.csr")
            L.run("openssl", "x509", "-req", "-in", f"{t}/{name}-client.csr", "-CA",
                  f"{t}/{name}.pem", "-CAkey", f"{t}/{name}.key", "-CAcreateserial", "-days", "2",
                  "-out", f"{t}/{name}-client.pem")
        with open(self.web) as f:
            good = f.read()
        log = lambda: self.lab.log(self.agent)  # noqa: E731
        before = self.metrics()
        try:
            with open(self.web, "w") as f:
                f.write(good.replace("basic_auth_users:", "  client_auth_type: "
                                     "RequireAndVerifyClientCert\n  client_ca_file: "
                                     f"{t}/ca.pem\nbasic_auth_users:"))
            os.kill(self.agent.pid, signal.SIGHUP)
            mine = ("--cert", f"{t}/ca-client.pem", "--key", f"{t}/ca-client.key")
            L.until(lambda: self.curl("/metrics", "--fail-with-body")[0] == 0, 10,
                    "a client without a certificate to be refused", detail=log)
            self.assertEqual(self.curl("/metrics", *mine)[0], 200)
            self.assertEqual(self.curl("/metrics", "--cert", f"{t}/other-ca-client.pem", "--key",
                                       f"{t}/other-ca-client.key")[0], 0)
        finally:
            with open(self.web, "w") as f:
                f.write(good)
            os.kill(self.agent.pid, signal.SIGHUP)
            L.until(lambda: self.curl("/metrics")[0] == 200, 10, "the first file back")
        after = self.metrics()
        self.assertGreaterEqual(L.delta(before, after, "mxsense_http_tls_failures_total",
                                        reason="handshake"), 2)

    def test_reload_keeps_the_old_file_when_the_new_one_is_bad(self):
        log = lambda: self.lab.log(self.agent)  # noqa: E731
        with open(self.web) as f:
            good = f.read()
        try:
            with open(self.web, "w") as f:
                f.write(good.replace(f"key_file: {self.key}", f"key_file: {self.lab.tmp}/none"))
            os.kill(self.agent.pid, signal.SIGHUP)
            L.until(lambda: "reload failed, the running configuration stays" in log(), 10,
                    "the reload to fail", detail=log)
            self.assertIn(f"tls_server_config.key_file: {self.lab.tmp}/none: cannot read it: No "
                          "such file or directory", log())
            self.assertEqual(self.curl("/metrics")[0], 200)
            # A good file with another user: the new user in, the old one out.
            self.write_web({"grafana": htpasswd("grafana", "new-secret", cost=4)})
            os.kill(self.agent.pid, signal.SIGHUP)
            L.until(lambda: self.curl("/metrics", auth=("grafana", "new-secret"))[0] == 200, 10,
                    "the new user to be accepted", detail=log)
            self.assertEqual(self.curl("/metrics")[0], 401)
        finally:
            with open(self.web, "w") as f:
                f.write(good)
            os.kill(self.agent.pid, signal.SIGHUP)
            L.until(lambda: self.curl("/metrics")[0] == 200, 10, "the first file back")


if __name__ == "__main__":
    unittest.main()
