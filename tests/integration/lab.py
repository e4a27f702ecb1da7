"""Network-namespace lab: test hosts, real servers, the agent, and teardown in every outcome.

Hosts get addresses from 198.18.0.0/15 and fd00::/8 only; nothing leaves the namespaces.
"""
import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("MXSENSE_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
MXSENSE = os.path.join(BUILD, "mxsense")
NFQ_DELAY = os.path.join(BUILD, "tests", "nfq_delay")


def _terminated(signum, frame):
    # SIGTERM (a killed run, ctest's timeout) ends the process without atexit, leaving every
    # namespace and server behind; KeyboardInterrupt passes through unittest (other exceptions
    # are booked as a test's error and the run goes on), so each lab's down() runs at exit.
    raise KeyboardInterrupt(f"signal {signum}")


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _terminated)
# tcpdump's answer to SIGUSR1.
_TCPDUMP_STATS = re.compile(r"(\d+) packets? captured, (\d+) packets? received by filter")


def require_root(testcase):
    """Outside root the lab cannot exist: skip loudly (CI runs as root, so it never skips there)."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("*** SKIPPED: namespace tests need root ***")


def run(*cmd, check=True, timeout=60, **kw):
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True, **kw)


class Host:
    """One network namespace."""

    def __init__(self, name):
        self.name = name

    def run(self, *cmd, **kw):
        return run("ip", "netns", "exec", self.name, *cmd, **kw)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], start_new_session=True,
                                stdout=kw.pop("stdout", subprocess.PIPE),
                                stderr=kw.pop("stderr", subprocess.STDOUT), text=True, **kw)


class Lab:
    """A client and a server namespace joined by a veth pair."""

    CLIENT4, SERVER4 = "198.18.0.1", "198.18.0.2"
    CLIENT6, SERVER6 = "fd00::1", "fd00::2"

    def __init__(self):
        tag = f"{os.getpid() % 100000}"
        self.client = Host(f"mxt{tag}c")
        self.server = Host(f"mxt{tag}s")
        self.client_if = f"mxt{tag}c0"
        self.server_if = f"mxt{tag}s0"
        self.tmp = tempfile.mkdtemp(prefix="mxsense-lab-")
        self.procs = []
        self.stoppers = []  # commands that stop daemons which leave their process group
        self.netns_etc = []  # /etc/netns/NAME directories this lab made
        self.up_done = False
        atexit.register(self.down)

    @classmethod
    def for_test_class(cls, testcase):
        """Skip without root; else a lab that is up, torn down after the class in every outcome."""
        require_root(testcase)
        lab = cls()
        testcase.addClassCleanup(lab.down)
        return lab.up()

    def namespaces(self):
        """Every namespace this lab creates (down() deletes them)."""
        return [self.client, self.server]

    def up(self):
        for h in self.namespaces():
            run("ip", "netns", "add", h.name)
        self.up_done = True
        run("ip", "link", "add", self.client_if, "netns", self.client.name, "type", "veth",
            "peer", "name", self.server_if, "netns", self.server.name)
        for h, ifname, a4, a6 in ((self.client, self.client_if, self.CLIENT4, self.CLIENT6),
                                  (self.server, self.server_if, self.SERVER4, self.SERVER6)):
            h.run("ip", "addr", "add", f"{a4}/24", "dev", ifname)
            h.run("ip", "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
            h.run("ip", "link", "set", "lo", "up")
            h.run("ip", "link", "set", ifname, "up")
        return self

    def resolv_conf(self, host, *nameservers):
        """The resolv.conf that processes started in host read (`ip netns exec` bind-mounts
        /etc/netns/NAME/resolv.conf over /etc/resolv.conf); removed with the lab."""
        d = os.path.join("/etc/netns", host.name)
        os.makedirs(d, exist_ok=True)
        self.netns_etc.append(d)
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write("".join(f"nameserver {a}\n" for a in nameservers))

    def start(self, host, *cmd, ready=None, timeout=15):
        """Start a process in host, output to a log file; wait until ready() (or its death)."""
        log_path = os.path.join(self.tmp, f"{os.path.basename(cmd[0])}-{len(self.procs)}.log")
        log = open(log_path, "w")
        p = host.popen(*cmd, stdout=log)
        log.close()
        p.log_path = log_path
        self.procs.append(p)
        if ready:
            def started():
                if ready():
                    return True
                if p.poll() is not None:
                    raise RuntimeError(f"{cmd[0]} exited early: {self.log(p)}")
                return False
            until(started, timeout, f"{cmd[0]} ready", detail=lambda: self.log(p)[-2000:])
        return p

    @staticmethod
    def log(p):
        with open(p.log_path) as f:
            return f.read()

    def until_status(self, host, port, agent, check, seconds, what, interval=0.5):
        """The agent's status document once check(document) holds (until); a failure shows the
        last document and the agent's log."""
        def met():
            s = status(host, port)
            return s if s and check(s) else None
        return until(met, seconds, what, interval=interval, detail=lambda: (
            f"status: {json.dumps(status(host, port))}\n"
            f"agent log: {self.log(agent)[-4000:]}"))

    @staticmethod
    def children(p):
        """The pids of p's child processes (an agent's hook supervisors while hooks run)."""
        return run("pgrep", "-P", str(p.pid), check=False).stdout.split()

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Signal a started process group; return its exit code."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
        if p.stdout:
            p.stdout.close()
        return rc

    def down(self):
        for host, cmd in reversed(self.stoppers):
            host.run(*cmd, check=False)
        self.stoppers = []
        for p in reversed(self.procs):
            self.stop(p, timeout=5)
        self.procs = []
        if self.up_done:
            for h in self.namespaces():
                run("ip", "netns", "del", h.name, check=False)
            self.up_done = False
        for d in self.netns_etc:
            shutil.rmtree(d, ignore_errors=True)
        self.netns_etc = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- real servers ------------------------------------------------------

    def start_knot(self, zone_text, origin="example.test.", also_listen=(), host=None,
                   addresses=None):
        """A real Knot serving origin's zone_text in host (the server) on addresses (SERVER4,
        SERVER6 and also_listen), once it answers the zone's SOA from the client."""
        host = host or self.server
        addresses = addresses or (self.SERVER4, self.SERVER6, *also_listen)
        d = os.path.join(self.tmp, "knot")
        self.knot = (os.path.join(d, "knot.conf"), os.path.join(d, f"{origin}zone"), origin, host)
        return self.start_knot_zones(d, addresses, {origin: zone_text}, host)

    def start_knot_zones(self, d, addresses, zones, host=None):
        """A real Knot in host (the server) with its files in d, serving each origin's zone
        text of `zones` on addresses, once it answers the first zone's SOA over UDP."""
        host = host or self.server
        os.makedirs(d, exist_ok=True)
        for origin, text in zones.items():
            with open(os.path.join(d, f"{origin}zone"), "w") as f:
                f.write(text)
        conf = os.path.join(d, "knot.conf")
        listen = ", ".join(f"{a}@53" for a in addresses)
        zone_list = "\n".join(f"  - domain: {o}" for o in zones)
        with open(conf, "w") as f:
            f.write(f"""server:
    rundir: "{d}"
    listen: [ {listen} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/db"
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
zone:
{zone_list}
log:
  - target: stderr
    any: warning
""")

        def answers():
            r = self.client.run("kdig", "+time=1", "+retry=0", "+notcp", f"@{addresses[0]}",
                                next(iter(zones)), "SOA", check=False)
            return "status: NOERROR" in r.stdout

        return self.start(host, "knotd", "-c", conf, ready=answers)

    def tsig_key(self, name="mxsense-switchover", tag="key"):
        """A TSIG key file (BIND syntax) made by tsig-keygen; a new tag makes another secret."""
        path = os.path.join(self.tmp, f"{name}-{tag}.key")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(run("tsig-keygen", "-a", "hmac-sha256", name).stdout)
        return path

    def start_bind(self, addr, origin="example.test", zone_text=None, key_file=None,
                   primary=None, secondaries=()):
        """A real BIND 9 on addr: the zone's primary (zone_text; MX updates at the apex and TXT
        at _mxsense (mx-switchover's record) granted to the key of key_file; NOTIFY to
        secondaries) or, with primary=ADDR, a secondary fed by IXFR."""
        d = self._bind_dir(addr)
        zone = os.path.join(d, f"{origin}.zone")
        if primary is None:
            with open(zone, "w") as f:
                f.write(zone_text)
            with open(key_file) as f:
                key_name = re.search(r'key "([^"]+)"', f.read()).group(1)
            notify = " ".join(f"{a};" for a in secondaries)
            zone_conf = f"""type primary; file "{zone}";
    update-policy {{ grant {key_name} name {origin}. MX;
                     grant {key_name} name _mxsense.{origin}. TXT; }};
    notify explicit; also-notify {{ {notify} }};"""
            return self._named(d, addr, origin, zone_conf, f'include "{key_file}";')
        return self._named(d, addr, origin,
                           f'type secondary; file "{zone}"; primaries {{ {primary}; }};')

    def start_knot_primary(self, addr, zone_text, key_file, origin="example.test",
                           secondaries=()):
        """A real Knot on addr, the zone's primary: the key of key_file (BIND syntax) may update
        MX and TXT at the apex and at _mxsense (mx-switchover's record); NOTIFY to secondaries,
        transfers to the lab's addresses."""
        d = os.path.join(self.tmp, f"knot-{addr}")
        os.makedirs(os.path.join(d, "db"))  # the journal, which updates need
        with open(os.path.join(d, f"{origin}.zone"), "w") as f:
            f.write(zone_text)
        with open(key_file) as f:
            key = f.read()
        name = re.search(r'key "([^"]+)"', key).group(1)
        alg = re.search(r"algorithm ([\w-]+);", key).group(1)
        secret = re.search(r'secret "([^"]+)";', key).group(1)
        remotes = "".join(f"""  - id: secondary{i}
    address: {a}@53
    via: {addr}
""" for i, a in enumerate(secondaries))
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"""server:
    rundir: "{d}"
    listen: [ {addr}@53 ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/db"
key:
  - id: {name}
    algorithm: {alg}
    secret: {secret}
{"remote:" if secondaries else ""}
{remotes}
acl:
  - id: update
    key: {name}
    action: update
    update-type: [MX, TXT]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [{origin}., _mxsense.{origin}.]
  - id: transfer
    address: 198.18.0.0/15
    action: transfer
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
zone:
  - domain: {origin}.
    acl: [update, transfer]
    {"notify: [" + ", ".join(f"secondary{i}" for i in range(len(secondaries))) + "]"
     if secondaries else ""}
log:
  - target: stderr
    any: warning
""")

        def answers():
            r = self.client.run("kdig", "+time=1", "+retry=0", f"@{addr}", origin, "SOA",
                                check=False)
            return "status: NOERROR" in r.stdout

        return self.start(self.server, "knotd", "-c", conf, ready=answers)

    def start_bind_resolver(self, addr, origin, servers):
        """A real BIND 9 resolver on addr that reaches origin through its servers (static-stub):
        recursion for the lab's zone, nothing beyond the namespaces."""
        d = self._bind_dir(addr)
        stub = " ".join(f"{a};" for a in servers)
        return self._named(d, addr, origin,
                           f"type static-stub; server-addresses {{ {stub} }};", recursion=True)

    def _bind_dir(self, addr):
        d = os.path.join(self.tmp, f"bind-{addr}")
        os.makedirs(d)
        return d

    def _named(self, d, addr, origin, zone_conf, include="", recursion=False):
        conf = os.path.join(d, "named.conf")
        with open(conf, "w") as f:
            f.write(f"""{include}
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    recursion {"yes" if recursion else "no"};
    allow-recursion {{ 198.18.0.0/15; }};
    dnssec-validation no;
    notify-source {addr};
    transfer-source {addr};
    allow-transfer {{ 198.18.0.0/15; }};
}};
controls {{ }};
zone "{origin}" {{
    {zone_conf}
}};
""")

        def answers():
            r = self.client.run("dig", "+time=1", "+tries=1", f"@{addr}", origin, "SOA",
                                check=False)
            return "status: NOERROR" in r.stdout

        return self.start(self.server, "named", "-g", "-c", conf, ready=answers)

    def start_smtp_load(self, host, addr, seconds, interval=0.1):
        """SMTP clients to addr:25 (connect, greeting, QUIT) every interval for seconds."""
        p = host.popen("python3", "-c", _SMTP_LOOP, addr, str(seconds), str(interval))
        self.procs.append(p)
        return p

    def reload_knot(self, zone_text):
        """Replace the zone of start_knot and have Knot load it (bump the SOA serial)."""
        conf, path, origin, host = self.knot
        with open(path, "w") as f:
            f.write(zone_text)
        host.run("knotc", "-c", conf, "zone-reload", origin)

    def start_postfix(self, host, addr, destination="example.test", main_cf=""):
        """A real Postfix smtpd on addr:25 offering STARTTLS with a self-signed certificate for
        mx.example.test, the final destination of `destination` (other domains: relay denied,
        deferred with 454 by default); main_cf: more main.cf lines."""
        d = os.path.join(self.tmp, f"postfix-{addr}")
        etc = os.path.join(d, "etc")
        os.makedirs(etc)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=mx.example.test", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem")
        shutil.copy("/etc/postfix/master.cf", etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
inet_interfaces = {addr}
inet_protocols = ipv4
myhostname = mx.example.test
mydestination = {destination}
smtpd_tls_cert_file = {d}/cert.pem
smtpd_tls_key_file = {d}/key.pem
smtpd_tls_security_level = may
# Logs to start-fg's stdout, the lab's log file (files must be under /var).
maillog_file = /dev/stdout
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
{main_cf}
""")
        run("postconf", "-c", etc, "-F", "*/*/chroot = n")
        for sub_dir in ("spool", "data"):
            os.makedirs(os.path.join(d, sub_dir))
            shutil.chown(os.path.join(d, sub_dir), "postfix")
        os.chmod(self.tmp, 0o755)  # postfix's own processes walk down to the spool
        self.stoppers.append((host, ("postfix", "-c", etc, "stop")))
        return self.start_listener(host, f"{addr}:25", "postfix", "-c", etc, "start-fg")

    def start_agent(self, host, ifname, *args, port=10053):
        return self.start(host, MXSENSE, "agent", "--interface", ifname,
                          "--listen", f"127.0.0.1:{port}", *args,
                          ready=lambda: self.serves_metrics(host, port))

    def start_agent_config(self, host, config, port, *args):
        """The agent with a configuration file, once it serves metrics on 127.0.0.1:port."""
        return self.start(host, MXSENSE, "agent", "--config", config, *args,
                          ready=lambda: self.serves_metrics(host, port))

    @staticmethod
    def serves_metrics(host, port):
        return host.run("curl", "-sf", f"http://127.0.0.1:{port}/metrics",
                        check=False).returncode == 0

    def start_tcpdump(self, host, ifname, path, bpf_filter):
        """tcpdump writing every packet of ifname that bpf_filter takes to path, each at once;
        returned once it listens (its filter is on the socket: no later packet is missed)."""
        p = self.start(host, "tcpdump", "-i", ifname, "-nn", "-U", "--immediate-mode",
                       "-w", path, bpf_filter,
                       ready=lambda: "listening on" in self.log(self.procs[-1]))
        # libpcap drains what the socket took in before its filter was set (counted "received
        # by filter", never captured): on a busy machine, packets of any kind. Their number is
        # the baseline gap between its two counts (a stress run saw 4 of 8 stay "uncaptured").
        os.kill(p.pid, signal.SIGUSR1)
        answer = until(lambda: _TCPDUMP_STATS.findall(self.log(p)), 10, "tcpdump's statistics")
        p.stats_asked = p.stats_baseline = 1
        p.flushed = int(answer[-1][1]) - int(answer[-1][0])
        return p

    def tcpdump_caught_up(self, p):
        """Whether tcpdump p (start_tcpdump) has written every packet its socket took in since
        its filter was set, by its own statistics: asks for them (SIGUSR1) and reads its answer
        on the next call. Never true on a loopback, whose outgoing copies libpcap counts and
        then drops."""
        answers = _TCPDUMP_STATS.findall(self.log(p))
        asked = getattr(p, "stats_asked", 0)
        if len(answers) < asked:
            return False  # not answered yet
        if asked > getattr(p, "stats_baseline", 0) and \
                int(answers[-1][1]) - int(answers[-1][0]) <= getattr(p, "flushed", 0):
            return True
        p.stats_asked = asked + 1
        os.kill(p.pid, signal.SIGUSR1)
        return False

    def start_capture(self, host, ifname, bpf_filter):
        """tcpdump into a file; count() stops it and returns the number of packets,
        handshakes() stops it and returns each TCP handshake's SYN to SYN-ACK time."""
        path = os.path.join(self.tmp, f"capture-{len(self.procs)}.pcap")
        p = self.start_tcpdump(host, ifname, path, bpf_filter)
        lab = self

        class Capture:
            stopped = False

            def stop(self):
                if not self.stopped:
                    until(lambda: lab.tcpdump_caught_up(p), 10,
                          "tcpdump to write every packet its filter took in",
                          detail=lambda: lab.log(p))
                    lab.stop(p, signal.SIGINT)
                    self.stopped = True

            def count(self):
                self.stop()
                r = run("tcpdump", "-nn", "-r", path, check=False)
                return len([line for line in r.stdout.splitlines() if line.strip()])

            def handshakes(self):
                """Seconds from each connection's first SYN to the first SYN-ACK answering
                it, as the capture's timestamps have them, in SYN order."""
                self.stop()
                r = run("tcpdump", "-tt", "-nn", "-r", path, "tcp[tcpflags] & tcp-syn != 0",
                        check=False)
                syn, out = {}, []
                for line in r.stdout.splitlines():
                    m = re.match(r"(\d+\.\d+) IP6? (\S+) > (\S+): Flags \[(S\.?)\]", line)
                    if not m:
                        continue
                    t, src, dst, flags = float(m.group(1)), m.group(2), m.group(3), m.group(4)
                    if flags == "S":
                        syn.setdefault((src, dst), [t, None])
                    elif (dst, src) in syn and syn[(dst, src)][1] is None:
                        syn[(dst, src)][1] = t
                for t0, t1 in syn.values():
                    if t1 is not None:
                        out.append(t1 - t0)
                return out

        return Capture()

    def start_listener(self, host, addr_port, *cmd):
        """Start a server and wait until it listens on addr_port ("1.2.3.4:25", "[fd00::2]:25")."""
        def listening():
            return any(line.split()[3:4] == [addr_port]
                       for line in host.run("ss", "-Hltn").stdout.splitlines())
        return self.start(host, *cmd, ready=listening)

    def start_delayer(self, host, queue, delay_ms):
        p = host.popen(NFQ_DELAY, str(queue), str(delay_ms))
        self.procs.append(p)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("nfq_delay did not start")
        return p


_SMTP_LOOP = """
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        with socket.create_connection((sys.argv[1], 25), timeout=0.5) as s:
            s.recv(512)
            s.sendall(b"QUIT\\r\\n")
            s.recv(512)
    except OSError:
        pass
    time.sleep(float(sys.argv[3]))  # the load's pace
"""


# ---- Prometheus text ---------------------------------------------------------

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def until(check, seconds, what, interval=0.1, detail=None):
    """Poll check() every `interval` s until it returns a true value (returned); when `seconds`
    have passed first, AssertionError naming `what` (what did not happen) and, if given,
    detail()'s text (the state the caller can show: a status document, a log's tail)."""
    end = time.time() + seconds
    while True:
        got = check()
        if got:
            return got
        time.sleep(interval)
        if time.time() > end:  # every check began within the deadline
            raise AssertionError(f"not within {round(seconds, 1)} s: {what}" +
                                 (f"\n{detail()}" if detail else ""))


def status(host, port):
    """The agent's /api/v1/status document, or None while it does not answer."""
    r = host.run("curl", "-sf", f"http://127.0.0.1:{port}/api/v1/status", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def target(doc, name):
    """The entry of target `name` in a status document, or None."""
    return next((t for t in doc["targets"] if t["target"] == name), None)


def parse_metrics(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"bad exposition line: {line!r}")
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def scrape(host, port=10053):
    r = host.run("curl", "-sf", f"http://127.0.0.1:{port}/metrics")
    return parse_metrics(r.stdout)


def value(metrics, name, **labels):
    """Sum of every series of name whose labels include the given ones."""
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def histogram_quantile(before, after, name, q, **labels):
    """Quantile from the difference of two scrapes' cumulative buckets, interpolated linearly."""
    buckets = {}
    for (n, ls), v in after.items():
        d = dict(ls)
        if n == f"{name}_bucket" and set(labels.items()) <= set(d.items()) and d["le"] != "+Inf":
            le = float(d["le"])
            buckets[le] = buckets.get(le, 0) + v - value(before, f"{name}_bucket", **labels, le=d["le"])
    total = delta(before, after, f"{name}_count", **labels)
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le in sorted(buckets):
        c = buckets[le]
        if c >= rank:
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return float("inf")


# ---- dnsperf -----------------------------------------------------------------

def dnsperf(host, server, queries, mode="udp", qps=200, timeout_s=2, clients=1, verbose=False):
    """Run dnsperf once through the query list; return its own statistics. With `verbose`,
    also each answered query's latency as dnsperf measured it (seconds, in "latencies")."""
    qfile = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    qfile.write("".join(f"{name} {qtype}\n" for name, qtype in queries))
    qfile.close()
    try:
        r = host.run("dnsperf", "-s", server, "-d", qfile.name, "-n", "1", "-l", "60", "-m", mode,
                     "-Q", str(qps), "-c", str(clients), "-t", str(timeout_s),
                     *(["-v"] if verbose else []), timeout=120)
    finally:
        os.unlink(qfile.name)
    out = r.stdout
    stats = {
        "sent": int(re.search(r"Queries sent:\s+(\d+)", out).group(1)),
        "completed": int(re.search(r"Queries completed:\s+(\d+)", out).group(1)),
        "lost": int(re.search(r"Queries lost:\s+(\d+)", out).group(1)),
        "rcodes": {},
    }
    m = re.search(r"Response codes:\s+(.*)", out)
    if m:
        for code, n in re.findall(r"([A-Z]+) (\d+) \(", m.group(1)):
            stats["rcodes"][code] = int(n)
    if verbose:  # "> NOERROR name type 0.020311": the response's line, its latency last
        stats["latencies"] = [float(line.split()[-1]) for line in out.splitlines()
                              if line.startswith("> ") and line.split()[-1][:1].isdigit()]
    return stats


# ---- threads in a namespace, process CPU ---------------------------------------

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def netns(name):
    """This thread in network namespace `name`; sockets made inside stay in it."""
    with open("/proc/self/ns/net") as home, open(f"/run/netns/{name}") as ns:
        if _libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


def cpu_seconds(pid):
    """utime + stime of pid (all its threads), in seconds (/proc/PID/stat fields 14, 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
