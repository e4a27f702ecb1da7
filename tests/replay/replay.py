"""Replay a capture through a veth pair past the real agent, and read the agent's metric deltas.

One Bench per role: a network namespace holding a veth pair, `watched` (the agent's interface:
XDP on ingress, TC on egress) and `peer`. tcpprep splits a capture into its client side's and
server side's frames; one tcpreplay process sends them in the file's order and at its moments,
one side out of the watched interface (TC egress sees it) and the other out of the peer (it
arrives on the watched interface: XDP sees it):

  role client: client side's frames leave `watched`, server side's arrive on it
  role server: the other way round

Ordering: a single sender writes frame after frame; a frame's hook has run when its send
returns in practice, but that is checked, not assumed: a packet socket on the watched interface
(whose taps run after XDP on ingress and after TC on egress) records every frame with its kernel
timestamp, and a replay whose frames did not pass the watched interface exactly in the file's
order, direction and bytes is an error of the bench, not a result. The same record gives the
replay's own gaps, which the agent's latencies are compared with.

Nothing leaves the namespace: it holds only lo and the veth pair, no addresses, IPv6 off on the
pair, no forwarding; the replayed frames (198.18.0.0/24, fd00::/8) end in its stack, which drops
them (not for a local address).
"""
import atexit
import ctypes
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import lab as L  # noqa: E402  (scrape parsing, the agent binary, run())

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
_libc = ctypes.CDLL(None, use_errno=True)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def describe_frame(frame):
    """One line for a frame: Ethernet type, then IP addresses, protocol and ports if any."""
    if len(frame) < 14:
        return f"{len(frame)}-byte runt"
    etype = struct.unpack("!H", frame[12:14])[0]
    head = f"{len(frame)} B {frame[6:12].hex(':')} > {frame[0:6].hex(':')} type 0x{etype:04x}"
    l3 = frame[14:]
    if etype == 0x0800 and len(l3) >= 20:
        proto, src, dst, l4 = l3[9], socket.inet_ntop(socket.AF_INET, l3[12:16]), \
            socket.inet_ntop(socket.AF_INET, l3[16:20]), l3[(l3[0] & 0xF) * 4:]
    elif etype == 0x86DD and len(l3) >= 40:
        proto, src, dst, l4 = l3[6], socket.inet_ntop(socket.AF_INET6, l3[8:24]), \
            socket.inet_ntop(socket.AF_INET6, l3[24:40]), l3[40:]
    else:
        return head
    ports = (":%d > :%d" % struct.unpack("!HH", l4[:4])) if proto in (6, 17) and len(l4) >= 4 \
        else ""
    return f"{head} {src} > {dst} proto {proto} {ports}".rstrip()


class ReplayError(Exception):
    """The bench did not do what a replay needs (frames lost, reordered, tools failed)."""


def setns(path_or_fd):
    fd = os.open(path_or_fd, os.O_RDONLY) if isinstance(path_or_fd, str) else path_or_fd
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        if isinstance(path_or_fd, str):
            os.close(fd)


def read_pcap(path):
    """[(ts, frame bytes)] of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        out.append((sec + frac / (1e9 if nano else 1e6), data[off:off + incl]))
        off += incl
    return out


class Bench:
    """A namespace with a veth pair and the agent on one end (see the module's text)."""

    AGENT_PORT = 10053
    MTU = 65535

    def __init__(self, role, agent_options):
        assert role in ("client", "server")
        self.role = role
        tag = f"mxr{os.getpid() % 100000}{role[0]}"
        self.ns, self.watched, self.peer = tag, f"{tag}w", f"{tag}p"
        self.agent_options = agent_options
        self.tmp = tempfile.mkdtemp(prefix=f"mxsense-replay-{role}-")
        self.agent = None
        self.sock = None
        self.made = False
        atexit.register(self.down)  # also when the test process is interrupted

    # ---- lifetime ---------------------------------------------------------------------------

    def up(self):
        L.run("ip", "netns", "add", self.ns)
        self.made = True
        L.run("ip", "-n", self.ns, "link", "add", self.watched, "type", "veth", "peer", "name",
              self.peer)
        nsx = ("ip", "netns", "exec", self.ns)
        for ifname in (self.watched, self.peer):
            L.run(*nsx, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1")
            # Frames up to the IP maximum (a 64 KB segment as TSO/GSO or GRO make them); set
            # before the agent attaches XDP, which then takes multi-buffer frames (xdp.frags).
            L.run("ip", "-n", self.ns, "link", "set", ifname, "mtu", str(self.MTU))
            L.run("ip", "-n", self.ns, "link", "set", ifname, "up")
        L.run("ip", "-n", self.ns, "link", "set", "lo", "up")
        self.mac = {i: self._mac(i) for i in (self.watched, self.peer)}
        self._start_agent()
        return self

    def _mac(self, ifname):
        out = L.run("ip", "-n", self.ns, "-o", "link", "show", ifname).stdout
        return out.split("link/ether ")[1].split()[0]

    def _start_agent(self):
        o = self.agent_options
        conf = os.path.join(self.tmp, "agent.yaml")
        with open(conf, "w") as f:
            f.write(f"""interfaces: [{self.watched}]
listen: "127.0.0.1:{self.AGENT_PORT}"
state_file: ""
sweep_interval: {o['sweep_interval']}
dns: {{ports: [{', '.join(map(str, o['dns_ports']))}], timeout: {o['dns_timeout']}}}
smtp: {{ports: [{', '.join(map(str, o['smtp_ports']))}], tls_ports: [{', '.join(map(str, o['tls_ports']))}],
       connect_timeout: {o['smtp_connect_timeout']}, idle_timeout: {o['smtp_idle_timeout']}}}
dns_servers: [198.18.0.53]
probes: {{enabled: false}}
""")
        log_path = os.path.join(self.tmp, "agent.log")
        with open(log_path, "w") as log:
            self.agent = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, L.MXSENSE, "agent", "--config", conf],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.agent_log = log_path

    def enter(self):
        """Move the calling thread into the namespace (sockets it opens live there) and wait
        until the agent serves metrics; open the observer on the watched interface."""
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        setns(f"/run/netns/{self.ns}")
        deadline = time.monotonic() + 20
        while True:
            if self.agent.poll() is not None:
                raise ReplayError(f"agent exited: {self.log_tail()}")
            try:
                self.scrape()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ReplayError(f"agent not serving after 20 s: {self.log_tail()}")
                time.sleep(0.1)
        # Protocol 0 until bound: a packet socket made with ETH_P_ALL takes frames of every
        # interface until its bind, e.g. the loopback FINs of the scrape just closed (seen as
        # "frames outside a replay" on a loaded machine). bind() sets interface and protocol
        # at once (CPython converts the protocol to network order).
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((self.watched, ETH_P_ALL))

    def leave(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if getattr(self, "_home", None) is not None:
            setns(self._home)
            os.close(self._home)
            self._home = None

    def log_tail(self):
        try:
            with open(self.agent_log) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def down(self):
        if self.agent and self.agent.poll() is None:
            os.killpg(self.agent.pid, 15)
            try:
                self.agent.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.agent.pid, 9)
                self.agent.wait()
        if self.made:
            L.run("ip", "netns", "del", self.ns, check=False)
            self.made = False
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- metrics ----------------------------------------------------------------------------

    def scrape(self):
        """The agent's metrics, read from the calling thread (which must be in the namespace)."""
        with _NO_PROXY.open(f"http://127.0.0.1:{self.AGENT_PORT}/metrics", timeout=5) as r:
            return L.parse_metrics(r.read().decode())

    def wait_scrape(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            m = self.scrape()
            if cond(m):
                return m
            if time.monotonic() > deadline:
                raise ReplayError(f"timed out after {timeout:.1f}s waiting for {what}")
            time.sleep(0.05)

    # ---- one replay ------------------------------------------------------------------------

    def prepare(self, case, pcap, server_sides):
        """tcpprep's split of the capture, and a copy whose MACs are the veth pair's (the side
        that leaves `watched` has its MAC as source), ports remapped where the case says."""
        d = os.path.join(self.tmp, case.name)
        os.makedirs(d, exist_ok=True)
        cache = os.path.join(d, "split.cache")
        mode, values = case.split
        L.run("tcpprep", f"--{mode}={','.join(values)}", "-i", pcap, "-o", cache)
        # tcpprep's matches (the server side) are its primary frames: tcpreplay -i.
        server_if, client_if = ((self.peer, self.watched) if self.role == "client"
                                else (self.watched, self.peer))
        out = os.path.join(d, "replay.pcap")
        macs = {True: (self.mac[server_if], self.mac[client_if]),
                False: (self.mac[client_if], self.mac[server_if])}
        rewrite(pcap, out, [macs[s] for s in server_sides], parse_portmap(case.portmap))
        return cache, out, server_if, client_if

    def replay(self, case, pcap, server_sides):
        """Replay; returns (scrape before, observed frames, frames of the file, start time).
        server_sides: which frames the reference takes for the server side's; the observer
        checks that tcpprep's split sent them that way."""
        cache, out, server_if, client_if = self.prepare(case, pcap, server_sides)
        frames = read_pcap(out)
        self.drain()
        before = self.scrape()
        r = subprocess.run(["ip", "netns", "exec", self.ns, "tcpreplay", "-q", "-K", "-T", "nano",
                            "-c", cache, "-i", server_if, "-I", client_if, out],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise ReplayError(f"tcpreplay failed: {r.stdout}{r.stderr}")
        end = time.monotonic()
        seen = self.observe(len(frames))
        self.check_order(frames, seen, server_if)
        return before, seen, frames, end

    def settle(self, has_smtp, end):
        """Wait until every query of the replay has ended (answered, or swept as unanswered)
        and, with SMTP attempts, until the connect timeout has passed and been swept."""
        o = self.agent_options
        sweeps = L.value(self.scrape(), "mxsense_sensor_sweeps_total")
        if has_smtp:
            wait = end + o["smtp_connect_timeout"] + 0.05 - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # the attempt's deadline is a time, not a condition
            sweeps = L.value(self.scrape(), "mxsense_sensor_sweeps_total")

        def settled(m):
            inflight = sum(v for (n, ls), v in m.items()
                           if n == "mxsense_sensor_map_entries" and "inflight" in dict(ls)["map"])
            return L.value(m, "mxsense_sensor_sweeps_total") >= sweeps + 2 and inflight == 0
        return self.wait_scrape(settled, o["dns_timeout"] + 10, "in-flight queries to end")

    def check_seen_by_agent(self, before, after, seen):
        """The agent's hooks counted every replayed frame in its direction, and no other."""
        for direction, outgoing in (("egress", True), ("ingress", False)):
            want = sum(1 for s in seen if s[1] == outgoing)
            got = L.delta(before, after, "mxsense_sensor_packets_total", interface=self.watched,
                          direction=direction)
            if got != want:
                raise ReplayError(f"the agent counted {got:g} {direction} packets on "
                                  f"{self.watched}, the replay sent {want}")

    def drain(self):
        self.sock.setblocking(False)
        stray = []
        try:
            while True:
                stray.append(self.sock.recv(self.MTU + 64))
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        if stray:
            raise ReplayError(f"{len(stray)} frames on {self.watched} outside a replay: " +
                              "; ".join(describe_frame(f) for f in stray[:8]))

    def observe(self, n, timeout=10):
        """The next n frames on the watched interface: (bytes, outgoing?, kernel time)."""
        seen = []
        self.sock.settimeout(timeout)
        try:
            while len(seen) < n:
                data, anc, _, addr = self.sock.recvmsg(self.MTU + 64, socket.CMSG_SPACE(16))
                ts = None
                for level, kind, value in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", value[:16])
                        ts = sec + nsec / 1e9
                seen.append((data, addr[2] == PACKET_OUTGOING, ts))
        except socket.timeout:
            raise ReplayError(f"only {len(seen)} of {n} frames passed {self.watched}")
        finally:
            self.sock.settimeout(None)
        return seen

    def check_order(self, frames, seen, server_if):
        server_leaves = server_if == self.watched
        for i, ((_, want), (got, outgoing, _)) in enumerate(zip(frames, seen)):
            src_mac = ":".join(f"{b:02x}" for b in want[6:12])
            from_server = src_mac == self.mac[server_if]
            if got != want or outgoing != (from_server == server_leaves):
                raise ReplayError(f"frame {i + 1} did not pass {self.watched} in the file's order "
                                  f"and direction (got {len(got)} bytes, outgoing={outgoing})")


def parse_portmap(spec):
    """tcprewrite's --portmap syntax, "A:B,C:D", as {A: B, C: D}."""
    return {int(a): int(b) for a, b in (p.split(":") for p in spec.split(","))} if spec else {}


def _csum_replace(csum, old, new):
    """RFC 1624 incremental update of a ones'-complement checksum for one 16-bit word."""
    s = (~csum & 0xffff) + (~old & 0xffff) + new
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def rewrite_frame(frame, src_mac, dst_mac, portmap):
    """The frame with new MACs and TCP/UDP ports mapped (checksum updated); every other byte
    as captured. (tcprewrite 4.4.3 grows the IP length of Ethernet-padded frames over their
    padding, which turns a bare ACK into a segment with payload, so it is not used.)"""
    b = bytearray(frame)
    b[0:6] = bytes.fromhex(dst_mac.replace(":", ""))
    b[6:12] = bytes.fromhex(src_mac.replace(":", ""))
    if not portmap:
        return bytes(b)
    etype = struct.unpack("!H", b[12:14])[0]
    if etype == 0x0800:
        l4, proto = 14 + (b[14] & 0xf) * 4, b[23]
        if struct.unpack("!H", b[20:22])[0] & 0x1fff:
            return bytes(b)  # a non-first fragment: no ports
    elif etype == 0x86DD:
        l4, proto = 54, b[20]
    else:
        return bytes(b)
    csum_off = {6: 16, 17: 6}.get(proto)
    if csum_off is None or l4 + csum_off + 2 > len(b):
        return bytes(b)
    csum = struct.unpack("!H", b[l4 + csum_off:l4 + csum_off + 2])[0]
    for off in (0, 2):
        port = struct.unpack("!H", b[l4 + off:l4 + off + 2])[0]
        if port in portmap:
            b[l4 + off:l4 + off + 2] = struct.pack("!H", portmap[port])
            if not (proto == 17 and csum == 0):  # UDP over IPv4 without a checksum
                csum = _csum_replace(csum, port, portmap[port])
    b[l4 + csum_off:l4 + csum_off + 2] = struct.pack("!H", csum)
    return bytes(b)


def rewrite(src, dst, macs, portmap):
    """Copy a classic pcap file, frame i with the MACs macs[i] = (source, destination)."""
    with open(src, "rb") as f:
        data = f.read()
    endian = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    out, off, i = [data[:24]], 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = rewrite_frame(data[off + 16:off + 16 + incl], *macs[i], portmap)
        out.append(struct.pack(endian + "IIII", sec, frac, len(frame), orig) + frame)
        off += 16 + incl
        i += 1
    if i != len(macs):
        raise ReplayError(f"{src}: {i} frames, {len(macs)} sides")
    with open(dst, "wb") as f:
        f.write(b"".join(out))


def server_side_rule(split):
    """The frame predicate equal to tcpprep's --mac / --cidr split."""
    mode, values = split
    if mode == "mac":
        macs = {v.lower() for v in values}
        return lambda f: (f.eth_src or "").lower() in macs
    nets = [ipaddress.ip_network(v) for v in values]
    return lambda f: f.src is not None and any(ipaddress.ip_address(f.src) in n for n in nets)
