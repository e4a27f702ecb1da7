#!/usr/bin/python3
"""Write the generated replay captures (tests/replay/captures/gen_*.pcap) with scapy.

Each capture is one *kind* of input from issue 10 (items 3, 4, 7, 9) or issue 11 (items 1-7),
written the way real DNS and SMTP software writes it on the wire. Deterministic: the same script
writes the same bytes (fixed timestamps, ports, ids, sequence numbers), so the files are committed
and never made at test time. Run it again after changing it: `tests/replay/make_captures.py`.

Frame direction is carried by the source MAC: CLIENT_SIDE for frames that travel from the client's
side of the wire, SERVER_SIDE for frames from the server's side (tcpprep --mac splits on it). A
forged frame that claims the server's address but comes from the client's side keeps the client
side's MAC, as it would on a real link.

Addresses: 198.18.0.0/24 and fd00::/64 only (client .10, DNS server .53, SMTP server .25, a router
.1 that sends ICMP errors).
"""
import os
import struct

from scapy.all import (DNS, DNSQR, DNSRR, DNSRROPT, EDNS0TLV, ICMP, IP, TCP, UDP, Ether,
                       ICMPv6DestUnreach, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, conf, wrpcap)
from scapy.layers.dns import DNSRRSOA

conf.verb = 0

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures")
CLIENT_SIDE = "02:00:00:00:c1:01"
SERVER_SIDE = "02:00:00:00:5e:02"
C4, DNS4, SMTP4, ROUTER4 = "198.18.0.10", "198.18.0.53", "198.18.0.25", "198.18.0.1"
C6, DNS6, ROUTER6 = "fd00::10", "fd00::53", "fd00::1"
T0 = 1700000000.0

# One client port per capture: cases share one agent, and a 4-tuple must not carry state from one
# case into the next.
_next_port = [41000]


def client_port():
    _next_port[0] += 1
    return _next_port[0]


class Capture:
    """Frames in wire order, each with its side and its time (seconds after the first frame)."""

    def __init__(self, name):
        self.name = name
        self.frames = []
        self.t = 0.0

    def add(self, side, pkt, gap=0.001):
        """Append pkt (from IP up) sent from side 'c' or 's', gap seconds after the last frame."""
        if self.frames:
            self.t += gap
        src, dst = (CLIENT_SIDE, SERVER_SIDE) if side == "c" else (SERVER_SIDE, CLIENT_SIDE)
        f = Ether(src=src, dst=dst) / pkt
        f.time = T0 + round(self.t, 6)
        self.frames.append(f)

    def write(self):
        path = os.path.join(OUT, f"{self.name}.pcap")
        wrpcap(path, self.frames)
        return path


class TcpConn:
    """One TCP connection in a Capture: handshake, data segments with sequence tracking, close."""

    def __init__(self, cap, client, server, sport, cisn=1000, sisn=50000, ipv6=False):
        self.cap, self.client, self.server, self.sport = cap, client, server, sport
        self.cport = client_port()
        self.ipv6 = ipv6
        self.next = {"c": cisn, "s": sisn}

    def _ip(self, side):
        src, dst = (self.client, self.server) if side == "c" else (self.server, self.client)
        return IPv6(src=src, dst=dst) if self.ipv6 else IP(src=src, dst=dst)

    def seg(self, side, payload=b"", flags="PA", gap=0.001):
        other = "s" if side == "c" else "c"
        sport, dport = (self.cport, self.sport) if side == "c" else (self.sport, self.cport)
        ack = self.next[other] if "A" in flags else 0
        self.cap.add(side, self._ip(side) / TCP(sport=sport, dport=dport, seq=self.next[side],
                                                  ack=ack, flags=flags, window=64240) /
                     (Raw(payload) if payload else b""), gap)
        self.next[side] += len(payload) + (1 if ("S" in flags or "F" in flags) else 0)

    def handshake(self):
        self.seg("c", flags="S")
        self.seg("s", flags="SA")
        self.seg("c", flags="A")

    def close(self, first="c"):
        second = "s" if first == "c" else "c"
        self.seg(first, flags="FA")
        self.seg(second, flags="FA")
        self.seg(first, flags="A")


def query(qid, name="www.example.test", qtype="A", ar=None, opcode=0):
    return DNS(id=qid, rd=1, opcode=opcode, qd=DNSQR(qname=name, qtype=qtype), ar=ar)


def answer(q, rcode=0, an=None, ns=None, ar=None):
    """A response to query q (a DNS layer); names compressed (RFC 1035 §4.1.4)."""
    qd = q.qd
    if an is None and rcode == 0:
        an = DNSRR(rrname=qd.qname, type="A", ttl=300, rdata="198.18.0.80")
    return DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=0, opcode=q.opcode, rcode=rcode, qd=qd, an=an,
               ns=ns, ar=ar).compress()


def tcp_msg(msg):
    b = bytes(msg)
    return struct.pack("!H", len(b)) + b


def udp_exchange(cap, qmsg, rmsg, gap=0.005, server=DNS4, client=C4, ipv6=False, cport=None):
    cport = cport or client_port()
    ipc = IPv6(src=client, dst=server) if ipv6 else IP(src=client, dst=server)
    ips = IPv6(src=server, dst=client) if ipv6 else IP(src=server, dst=client)
    cap.add("c", ipc / UDP(sport=cport, dport=53) / qmsg)
    if rmsg is not None:
        cap.add("s", ips / UDP(sport=53, dport=cport) / rmsg, gap)
    return cport


# ---- issue 10 item 3: DNS over TCP, the message start split anywhere -------------------------

# Where a message (2-byte length, then the message) is cut into a first and a second segment.
SPLITS = {
    "len_alone": lambda b, name: 2,          # the 2-byte length in its own segment
    "1byte": lambda b, name: 1,              # the first segment is one byte
    "in_header": lambda b, name: 2 + 6,      # inside the 12-byte header
    "in_question": lambda b, name: 2 + 12 + 5,  # inside the qname
}


def tcp_first_split(who, where):
    """One query and its answer over TCP; the query's (who='query') or the answer's
    (who='answer') start is cut at `where`."""
    cap = Capture(f"gen_dns_tcp_{who}_split_{where}")
    c = TcpConn(cap, C4, DNS4, 53)
    c.handshake()
    q = query(0x3101 + len(cap.name))
    r = answer(q)
    for side, msg in (("c", q), ("s", r)):
        b = tcp_msg(msg)
        if (side == "c") == (who == "query"):
            cut = SPLITS[where](b, None)
            c.seg(side, b[:cut])
            c.seg(side, b[cut:])
        else:
            c.seg(side, b, gap=0.004 if side == "s" else 0.001)
    c.close()
    return cap


PLURAL = {"query": "queries", "answer": "answers"}


def tcp_second_split(who, where):
    """Two messages in one segment, the second cut at `where` (its rest in the next segment):
    two pipelined queries (who='query') or two answers sent back to back (who='answer')."""
    cap = Capture(f"gen_dns_tcp_two_{PLURAL[who]}_second_split_{where}")
    c = TcpConn(cap, C4, DNS4, 53)
    c.handshake()
    q1 = query(0x4201, "a.example.test")
    q2 = query(0x4202, "b.example.test", "AAAA")
    r1 = answer(q1)
    r2 = answer(q2, an=DNSRR(rrname=q2.qd.qname, type="AAAA", ttl=300, rdata="fd00::80"))
    for side, m1, m2 in (("c", q1, q2), ("s", r1, r2)):
        b1, b2 = tcp_msg(m1), tcp_msg(m2)
        if (side == "c") == (who == "query"):
            cut = SPLITS[where](b2, None)
            c.seg(side, b1 + b2[:cut], gap=0.004 if side == "s" else 0.001)
            c.seg(side, b2[cut:])
        else:
            c.seg(side, b1, gap=0.004 if side == "s" else 0.001)
            c.seg(side, b2)
    c.close()
    return cap


def tcp_len_alone_every_message():
    """A client that writes the length alone before every query, and a server that does the
    same before every answer, two exchanges on one connection."""
    cap = Capture("gen_dns_tcp_len_alone_every_message")
    c = TcpConn(cap, C4, DNS4, 53)
    c.handshake()
    for i, name in enumerate(("mx.example.test", "example.test")):
        q = query(0x5301 + i, name, "MX" if i == 0 else "NS")
        r = answer(q, rcode=3, ns=DNSRRSOA(rrname="example.test", ttl=300, mname="ns1.example.test",
                                            rname="hostmaster.example.test", serial=1))
        bq, br = tcp_msg(q), tcp_msg(r)
        c.seg("c", bq[:2])
        c.seg("c", bq[2:])
        c.seg("s", br[:2], gap=0.004)
        c.seg("s", br[2:])
    c.close()
    return cap


def tcp_custom_port():
    """DNS over TCP on port 8053 (an agent --dns-port; tshark needs -d to read it), the client
    writing the length alone and the server's first segment 1 byte."""
    cap = Capture("gen_dns_tcp_port8053_len_alone_and_1byte")
    c = TcpConn(cap, C4, DNS4, 8053)
    c.handshake()
    q = query(0x8053, "www.example.test", "TXT")
    r = answer(q, rcode=5)
    bq, br = tcp_msg(q), tcp_msg(r)
    c.seg("c", bq[:2])
    c.seg("c", bq[2:])
    c.seg("s", br[:1], gap=0.004)
    c.seg("s", br[1:])
    c.close()
    return cap


# ---- issue 10 item 4: EDNS extended RCODE (RFC 6891 §6.1.3) -----------------------------------

COOKIE_CLIENT = bytes.fromhex("24a7c1f0b3d5e6f7")
COOKIE_SERVER = bytes.fromhex("01000000655f3e80c0ffee00ba5eba11")


def ext_rcode(full, cookie=False, proto="udp", name=None):
    """An answer whose 12-bit RCODE is `full`: header RCODE = low 4 bits, OPT EXTENDED-RCODE =
    upper 8 bits. The answer carries answer and authority records with compressed names before
    the OPT record, as real servers write them."""
    name = name or f"gen_dns_ext_rcode_{full}" + ("_cookie" if cookie else "") + (
        "_tcp" if proto == "tcp" else "")
    cap = Capture(name)
    qopt = [EDNS0TLV(optcode=10, optdata=COOKIE_CLIENT)] if cookie else []
    q = query(0x6000 + full, "www.example.test", "A",
              ar=DNSRROPT(rclass=1232, extrcode=0, version=0, z=0, rdata=qopt))
    ropt = [EDNS0TLV(optcode=10, optdata=COOKIE_CLIENT + COOKIE_SERVER)] if cookie else []
    an = (DNSRR(rrname="www.example.test", type="CNAME", ttl=300, rdata="host.example.test") /
          DNSRR(rrname="host.example.test", type="A", ttl=300, rdata="198.18.0.80"))
    ns = DNSRR(rrname="example.test", type="NS", ttl=300, rdata="ns1.example.test")
    opt = DNSRROPT(rclass=1232, extrcode=full >> 4, version=0, z=0, rdata=ropt)
    r = answer(q, rcode=full & 0xf, an=an, ns=ns, ar=opt)
    if proto == "udp":
        udp_exchange(cap, q, r)
    else:
        c = TcpConn(cap, C4, DNS4, 53)
        c.handshake()
        c.seg("c", tcp_msg(q))
        c.seg("s", tcp_msg(r), gap=0.004)
        c.close()
    return cap


# ---- issue 10 item 7: a forged answer travelling the query's way -------------------------------

def forged_same_direction():
    """A query from the client side to the server; 1 ms later a forged "answer" (NXDOMAIN) with the
    server's address as source, arriving from the client's side like the query; then the real
    answer (NOERROR) from the server's side 20 ms after the query."""
    cap = Capture("gen_dns_forged_same_direction_answer")
    cport = client_port()
    q = query(0x7701, "mail.example.test")
    cap.add("c", IP(src=C4, dst=DNS4) / UDP(sport=cport, dport=53) / q)
    forged = answer(q, rcode=3)
    cap.add("c", IP(src=DNS4, dst=C4) / UDP(sport=53, dport=cport) / forged, 0.001)
    cap.add("s", IP(src=DNS4, dst=C4) / UDP(sport=53, dport=cport) / answer(q), 0.019)
    return cap


# ---- issue 10 item 9: SMTP replies after the client's FIN; every attempt one outcome ---------

def smtp_session(name, steps):
    cap = Capture(name)
    c = TcpConn(cap, C4, SMTP4, 25, cisn=7000, sisn=90000)
    c.handshake()
    c.seg("s", b"220 mx.example.test ESMTP\r\n", gap=0.005)
    c.seg("c", flags="A")
    steps(c)
    return cap


def smtp_quit_with_fin():
    """The client's QUIT and its FIN in one segment; the server answers 221, then closes."""
    def steps(c):
        c.seg("c", b"QUIT\r\n", flags="FPA", gap=0.005)
        c.seg("s", b"221 2.0.0 Bye\r\n", gap=0.005)
        c.seg("s", flags="FA")
        c.seg("c", flags="A")
    return smtp_session("gen_smtp_quit_with_fin_then_221", steps)


def smtp_pipelined_then_fin():
    """EHLO and QUIT pipelined (RFC 2920), the client's FIN right after; the server's 250 and
    221 both come after the FIN, the 221 with the server's FIN in the same segment."""
    def steps(c):
        c.seg("c", b"EHLO client.example.test\r\nQUIT\r\n", gap=0.005)
        c.seg("c", flags="FA")
        c.seg("s", b"250-mx.example.test\r\n250 PIPELINING\r\n", gap=0.005)
        c.seg("s", b"221 2.0.0 Bye\r\n", flags="FPA")
        c.seg("c", flags="A")
    return smtp_session("gen_smtp_pipelined_fin_then_250_221", steps)


def smtp_one_sided(name, syn_retransmits, data_segments):
    """Asymmetric routing: only the client's frames. A SYN (retransmitted `syn_retransmits`
    times), then client data segments, then the client's FIN; nothing from the server."""
    cap = Capture(name)
    cport = client_port()
    seq = 7000

    def seg(flags, payload=b"", gap=0.05, ack=0):
        cap.add("c", IP(src=C4, dst=SMTP4) / TCP(sport=cport, dport=25, seq=seq, ack=ack,
                                                 flags=flags, window=64240) /
                (Raw(payload) if payload else b""), gap)

    seg("S")
    for _ in range(syn_retransmits):
        seg("S", gap=0.2)
    seq += 1
    for line in data_segments:
        seg("PA", line, ack=90001)
        seq += len(line)
    seg("FA", ack=90001 + 27)
    return cap


# ---- issue 11 items 5-7: long server segments, many pipelined replies, SYN after ICMP -------

def _ehlo_answer(n_ext):
    """A multi-line EHLO answer (RFC 5321 §4.1.1.1) with n_ext extension lines, as one string."""
    lines = ["250-mx.example.test Hello client.example.test"]
    lines += [f"250-X-EXTENSION-{i:03d} {'p' * 40}" for i in range(n_ext)]
    lines += ["250-STARTTLS", "250 SMTPUTF8"]
    return ("\r\n".join(lines) + "\r\n").encode()


def smtp_long_ehlo(starttls):
    """An EHLO answer longer than 1024 bytes in one server segment (as TSO/GSO hands it to TC),
    then the next reply in the next segment at a line boundary: 221 to QUIT, or 220 to STARTTLS
    followed by TLS records (one with a line break and digits inside, as encrypted bytes can)."""
    name = "gen_smtp_long_ehlo_then_" + ("starttls" if starttls else "quit")

    def steps(c):
        c.seg("c", b"EHLO client.example.test\r\n", gap=0.005)
        c.seg("s", _ehlo_answer(20), gap=0.005)  # 1315 bytes: past the 1024 read, within the MTU
        if starttls:
            c.seg("c", b"STARTTLS\r\n", gap=0.005)
            c.seg("s", b"220 2.0.0 Ready to start TLS\r\n", gap=0.005)
            c.seg("c", bytes.fromhex("160301003a0100003603035f") + bytes(50), gap=0.002)
            c.seg("s", bytes.fromhex("160303005a0200005603035f") + b"\x8a\x13\n421 \xfe" +
                  bytes(80), gap=0.005)
            c.seg("c", flags="RA", gap=0.005)
        else:
            c.seg("c", b"QUIT\r\n", gap=0.005)
            c.seg("s", b"221 2.0.0 Bye\r\n", gap=0.005)
            c.seg("s", flags="FA")
            c.seg("c", flags="FA")
            c.seg("s", flags="A")
    return smtp_session(name, steps)


def smtp_pipelined_14():
    """A pipelined transaction (RFC 2920): MAIL, 12 RCPT, DATA in one client segment; the
    server's 14 replies in one segment."""
    def steps(c):
        cmds = b"MAIL FROM:<a@client.example.test>\r\n" + b"".join(
            f"RCPT TO:<user{i}@example.test>\r\n".encode() for i in range(12)) + b"DATA\r\n"
        c.seg("c", b"EHLO client.example.test\r\n", gap=0.005)
        c.seg("s", b"250-mx.example.test\r\n250 PIPELINING\r\n", gap=0.005)
        c.seg("c", cmds, gap=0.005)
        replies = b"250 2.1.0 Ok\r\n" + b"".join(b"250 2.1.5 Ok\r\n" for _ in range(12)) + \
            b"354 End data with <CR><LF>.<CR><LF>\r\n"
        c.seg("s", replies, gap=0.005)
        c.seg("c", b".\r\n", gap=0.005)
        c.seg("s", b"250 2.0.0 Ok: queued\r\n", gap=0.005)
        c.seg("c", b"QUIT\r\n", gap=0.005)
        c.seg("s", b"221 2.0.0 Bye\r\n", flags="FPA", gap=0.005)
        c.seg("c", flags="FA")
        c.seg("s", flags="A")
    return smtp_session("gen_smtp_pipelined_14_replies", steps)


def smtp_pipelined_64k():
    """Issue 11 items 5 and 6 at the IP maximum: a client pipelines (RFC 2920) MAIL, 1250 RCPT
    and DATA in MSS-sized segments; the server's 1252 replies leave in one 64 KB segment, as its
    stack hands it to TSO/GSO (and a TC hook sees it) or as GRO or a jumbo-MTU link delivers it:
    sendmail-style "250 2.1.5 <user>... Recipient ok", every tenth recipient "550 5.1.1 ...
    User unknown", the last 20 "452 4.5.3 Too many recipients", then 354. The next segment's 250
    to the message and the 221 must be read as well."""
    def steps(c):
        c.seg("c", b"EHLO client.example.test\r\n", gap=0.005)
        c.seg("s", b"250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n", gap=0.005)
        n = 1250
        cmds = b"MAIL FROM:<a@client.example.test>\r\n" + b"".join(
            f"RCPT TO:<user{i:04d}@example.test>\r\n".encode() for i in range(n)) + b"DATA\r\n"
        for off in range(0, len(cmds), 1448):
            c.seg("c", cmds[off:off + 1448], gap=0.0001)
        replies = [b"250 2.1.0 <a@client.example.test>... Sender ok"]
        for i in range(n):
            rcpt = f"<user{i:04d}@example.test>".encode()
            if i >= n - 20:
                replies.append(b"452 4.5.3 Too many recipients")
            elif i % 10 == 9:
                replies.append(b"550 5.1.1 " + rcpt + b"... User unknown")
            else:
                replies.append(b"250 2.1.5 " + rcpt + b"... Recipient ok")
        replies.append(b"354 Enter mail, end with \".\" on a line by itself")
        burst = b"".join(r + b"\r\n" for r in replies)
        assert 60000 < len(burst) <= 65535 - 40 and len(burst) + 54 <= 65535, len(burst)
        c.seg("s", burst, gap=0.005)
        c.seg("c", b"Subject: many\r\n\r\nhello\r\n.\r\n", gap=0.005)
        c.seg("s", b"250 2.0.0 5BJ0aB1x012345 Message accepted for delivery\r\n", gap=0.005)
        c.seg("c", b"QUIT\r\n", gap=0.005)
        c.seg("s", b"221 2.0.0 mx.example.test closing connection\r\n", flags="FPA", gap=0.005)
        c.seg("c", flags="FA")
        c.seg("s", flags="A")
    return smtp_session("gen_smtp_pipelined_64k", steps)


def smtp_syn_icmp_retransmit(v6):
    """A SYN answered by destination unreachable, administratively prohibited (what a rejecting
    firewall rule on the server sends); Linux sends the same SYN again, answered the same way:
    one attempt, one unreachable."""
    cap = Capture("gen_smtp_syn_icmp%s_admin_retransmitted" % ("6" if v6 else ""))
    cport = client_port()
    for i in range(2):
        tcp = TCP(sport=cport, dport=25, seq=7000, flags="S", window=64240)
        if v6:
            syn = IPv6(src="fd00::10", dst="fd00::25") / tcp
            err = IPv6(src="fd00::25", dst="fd00::10") / ICMPv6DestUnreach(code=1) / bytes(syn)
        else:
            syn = IP(src=C4, dst=SMTP4, id=0x2500) / tcp
            err = IP(src=SMTP4, dst=C4) / ICMP(type=3, code=13) / bytes(syn)
        cap.add("c", syn, 1.0 if i else 0.001)
        cap.add("s", err, 0.001)
    return cap


# ---- issue 11 item 1: answers without a question section --------------------------------------

def qdcount0(name, rcode, proto="udp", opcode=0, two_opts=False, wrong_id=False):
    """A query with one question; the server answers rcode with QDCOUNT=0 (RFC 1035 allows an
    empty question in such answers; BIND does so for NOTIMP and FORMERR)."""
    cap = Capture(name)
    ar = None
    if two_opts:  # two OPT records: FORMERR (RFC 6891 §6.1.1)
        ar = DNSRROPT(rclass=1232) / DNSRROPT(rclass=1232)
    q = query(0x1100 + rcode, "example.test", "SOA", ar=ar, opcode=opcode)
    r = DNS(id=(q.id ^ 0x5555) if wrong_id else q.id, qr=1, opcode=opcode, rd=q.rd,
            rcode=rcode, qd=None, qdcount=0)
    if proto == "udp":
        udp_exchange(cap, q, r)
    else:
        c = TcpConn(cap, C4, DNS4, 53)
        c.handshake()
        c.seg("c", tcp_msg(q))
        c.seg("s", tcp_msg(r), gap=0.004)
        c.close()
    return cap


# ---- issue 11 item 2: answers after the timeout ------------------------------------------------

LATE_GAP = 1.5  # seconds; the replay agent runs with --dns-timeout 1 (the 3 s vs 2 s)


def late_answer(proto):
    cap = Capture(f"gen_dns_late_answer_{proto}")
    q = query(0x2201, "slow.example.test")
    if proto == "udp":
        udp_exchange(cap, q, answer(q), gap=LATE_GAP)
    else:
        c = TcpConn(cap, C4, DNS4, 53)
        c.handshake()
        c.seg("c", tcp_msg(q))
        c.seg("s", tcp_msg(answer(q)), gap=LATE_GAP)
        c.close()
    return cap


# ---- issue 11 item 3: ICMP destination unreachable answering a DNS query -------------------

def icmp_unreach(name, v6, code, router):
    """A UDP query answered by ICMP/ICMPv6 destination unreachable quoting the whole query, as
    Linux does (RFC 792; RFC 4443 §3.1): from the server (port unreachable; administratively
    prohibited, what a rejecting firewall rule on the server sends) or from a router on the
    way (host/address unreachable)."""
    cap = Capture(name)
    cport = client_port()
    q = query(0x3301, "www.example.test")
    if v6:
        qpkt = IPv6(src=C6, dst=DNS6, hlim=64) / UDP(sport=cport, dport=53) / q
        src = ROUTER6 if router else DNS6
        err = IPv6(src=src, dst=C6) / ICMPv6DestUnreach(code=code) / bytes(qpkt)
    else:
        qpkt = IP(src=C4, dst=DNS4, ttl=64, id=0x1234) / UDP(sport=cport, dport=53) / q
        src = ROUTER4 if router else DNS4
        err = IP(src=src, dst=C4) / ICMP(type=3, code=code) / bytes(qpkt)
    cap.add("c", qpkt)
    cap.add("s", err, 0.002)
    return cap


# ---- issue 11 item 4: IPv6 extension headers -----------------------------------------------

def _ah(nh):
    """An Authentication Header (RFC 4302 §2) with a 12-byte ICV: payload length 4 (in 32-bit
    words, minus 2)."""
    return struct.pack("!BBHII", nh, 4, 0, 0x1000, 1) + bytes(12)


def ipv6_ext(n):
    """A UDP query and its answer over IPv6, each behind n extension headers: hop-by-hop,
    destination options, routing (segments left 0), fragment (atomic: offset 0, M=0), AH,
    destination options, destination options, in that order (RFC 8200 §4.1)."""
    cap = Capture(f"gen_dns_ipv6_ext_{n}")
    cport = client_port()
    q = query(0x6600 + n, "www.example.test", "AAAA")
    r = answer(q, an=DNSRR(rrname=q.qd.qname, type="AAAA", ttl=300, rdata="fd00::80"))
    for side, src, dst, sp, dp, msg in (("c", C6, DNS6, cport, 53, q), ("s", DNS6, C6, 53, cport, r)):
        kinds = ["hop", "dst", "rt", "frag", "ah", "dst", "dst"][:n]
        cap.add(side, ext_udp(src, dst, sp, dp, msg, kinds, 0x66000000 + n),
                0.005 if side == "s" else 0.001)
    return cap


# ---- issue 10, adversarial review: forged segments the receiving TCP would drop --------------

def _forged(c, side, flags, seq, ack, payload=b"", gap=0.001):
    """A segment with the connection's addresses and ports but the given numbers, sent from
    `side` of the wire (where an off-path attacker's packet comes in); the connection's own
    sequence numbers do not move."""
    sport, dport = (c.cport, c.sport) if side == "c" else (c.sport, c.cport)
    c.cap.add(side, c._ip(side) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                                      window=64240) / (Raw(payload) if payload else b""), gap)


def smtp_forged_rst_to_syn():
    """The adversarial script's A1: RSTs from the server's side while the SYN is in flight, one
    acknowledging a wrong number, one without ACK, one acknowledging the SYN's own sequence
    number (not + 1); the client's TCP drops them all. The real SYN-ACK then comes, the greeting,
    QUIT and 221."""
    cap = Capture("gen_smtp_forged_rst_to_syn")
    c = TcpConn(cap, C4, SMTP4, 25, cisn=7000, sisn=90000)
    c.seg("c", flags="S")
    _forged(c, "s", "RA", 0, 123456789, gap=0.02)
    _forged(c, "s", "R", 777, 0)
    _forged(c, "s", "RA", 0, 7000)
    c.seg("s", flags="SA", gap=0.02)
    c.seg("c", flags="A")
    c.seg("s", b"220 mx.example.test ESMTP\r\n", gap=0.005)
    c.seg("c", b"QUIT\r\n", gap=0.005)
    c.seg("s", b"221 2.0.0 Bye\r\n", gap=0.005)
    c.close(first="s")
    return cap


def smtp_forged_greeting_out_of_window():
    """The adversarial script's A2: before the real greeting, "x\r\n421 ..." from the server's
    side with sequence numbers the client's window does not hold (2^31 + 5 past the receive
    point; 3999999999; just past the 64 KiB bound), one with FIN, one in the window without
    ACK; then the real 220, QUIT, 221."""
    cap = Capture("gen_smtp_forged_greeting_out_of_window")
    c = TcpConn(cap, C4, SMTP4, 25, cisn=7000, sisn=90000)
    c.handshake()
    s, k = c.next["s"], c.next["c"]
    forged = b"x\r\n421 forged go away\r\n"
    _forged(c, "s", "PA", (s + 2**31 + 5) % 2**32, k, forged, gap=0.01)
    _forged(c, "s", "PA", 3999999999, k, forged)
    _forged(c, "s", "PA", s + 65535, k, forged)
    _forged(c, "s", "FPA", (s + 2**31 + 5) % 2**32, k, forged)
    _forged(c, "s", "P", s, 0, b"421 forged go away\r\n")
    c.seg("s", b"220 mx.example.test ESMTP\r\n", gap=0.01)
    c.seg("c", b"QUIT\r\n", gap=0.005)
    c.seg("s", b"221 2.0.0 Bye\r\n", gap=0.005)
    c.close(first="s")
    return cap


def dns_tcp_forged_answer_out_of_window():
    """DNS over TCP: after the query, a forged NXDOMAIN "answer" from the server's side far
    outside the client's window, and one before the server's first byte; then the real answer
    (NOERROR) 5 ms after the query. (An in-window variant without ACK is in the BPF tests only:
    tshark would take it for the stream's data and the real answer for its retransmission.)"""
    cap = Capture("gen_dns_tcp_forged_answer_out_of_window")
    c = TcpConn(cap, C4, DNS4, 53)
    c.handshake()
    q = query(0x7a01, "mx.example.test", "MX")
    c.seg("c", tcp_msg(q))
    s, k = c.next["s"], c.next["c"]
    forged = tcp_msg(answer(q, rcode=3))
    _forged(c, "s", "PA", (s + 2**31 + 5) % 2**32, k, forged)
    _forged(c, "s", "PA", s - 1000, k, forged)
    c.seg("s", tcp_msg(answer(q)), gap=0.003)
    c.close()
    return cap


def ext_udp(src, dst, sp, dp, msg, kinds, frag_id):
    """A UDP datagram over IPv6 behind extension headers of the given kinds, in that order: hop,
    dst, rt (segments left 0), frag (atomic: offset 0, M=0), ah."""
    # The UDP checksum over the pseudo-header (RFC 8200 §8.1) from a plain packet; then the
    # headers, inside out, each naming the next.
    payload = bytes(IPv6(src=src, dst=dst) / UDP(sport=sp, dport=dp) / msg)[40:]
    nh = 17
    for kind in reversed(kinds):
        if kind == "hop":
            h = bytes(IPv6ExtHdrHopByHop(nh=nh))
            num = 0
        elif kind == "dst":
            h = bytes(IPv6ExtHdrDestOpt(nh=nh))
            num = 60
        elif kind == "rt":
            h = bytes(IPv6ExtHdrRouting(nh=nh, type=0, segleft=0, addresses=[]))
            num = 43
        elif kind == "frag":
            h = bytes(IPv6ExtHdrFragment(nh=nh, offset=0, m=0, id=frag_id))
            num = 44
        else:
            h = _ah(nh)
            num = 51
        payload = h + payload
        nh = num
    return IPv6(src=src, dst=dst, nh=nh, plen=len(payload)) / Raw(payload)


# ---- issue 11 remainders: late answers checked against their question; what ICMP quotes ----

def late_answer_wrong_question(proto):
    """A query; 1.5 s later (past the timeout) an answer for another name, then the real answer.
    The first is checked against the swept query's question as an answer in time is: mismatched,
    not late; the second is late."""
    cap = Capture(f"gen_dns_late_answer_wrong_question_{proto}")
    q = query(0x2301, "slow.example.test")
    wrong = answer(query(0x2301, "other.example.test"))
    if proto == "udp":
        cport = udp_exchange(cap, q, wrong, gap=LATE_GAP)
        cap.add("s", IP(src=DNS4, dst=C4) / UDP(sport=53, dport=cport) / answer(q), 0.005)
    else:
        c = TcpConn(cap, C4, DNS4, 53)
        c.handshake()
        c.seg("c", tcp_msg(q))
        c.seg("s", tcp_msg(wrong), gap=LATE_GAP)
        c.seg("s", tcp_msg(answer(q)), gap=0.005)
        c.close()
    return cap


def icmp6_unreach_ext_quote():
    """A UDP query over IPv6 behind hop-by-hop, fragment (atomic) and AH headers, answered by an
    ICMPv6 port unreachable from the server quoting it whole (RFC 4443 §3.1): the quote's chain
    is walked as the query's own was."""
    cap = Capture("gen_dns_icmp6_unreachable_ext_quote")
    cport = client_port()
    q = query(0x3401, "www.example.test")
    qpkt = ext_udp(C6, DNS6, cport, 53, q, ["hop", "frag", "ah"], 0x34010000)
    cap.add("c", qpkt)
    cap.add("s", IPv6(src=DNS6, dst=C6) / ICMPv6DestUnreach(code=4) / bytes(qpkt), 0.002)
    return cap


def tcp_query_icmp_unreach():
    """DNS over TCP: the query's segment, an ICMP port unreachable quoting it whole (its length and
    id included), the answer 5 ms later. For an established connection the ICMP is a soft error
    (RFC 1122 §4.2.3.9): it ends nothing, and the answer pairs."""
    cap = Capture("gen_dns_tcp_query_icmp_unreachable")
    q = query(0x3501, "tcp.example.test")
    c = TcpConn(cap, C4, DNS4, 53)
    c.handshake()
    c.seg("c", tcp_msg(q))
    quoted = bytes(cap.frames[-1][IP])
    cap.add("s", IP(src=DNS4, dst=C4) / ICMP(type=3, code=3) / quoted, 0.002)
    c.seg("s", tcp_msg(answer(q)), gap=0.005)
    c.close()
    return cap


def all_captures():
    caps = []
    for who in ("query", "answer"):
        for where in ("1byte", "in_header", "in_question"):
            caps.append(tcp_first_split(who, where))
        for where in SPLITS:
            caps.append(tcp_second_split(who, where))
    caps.append(tcp_len_alone_every_message())
    caps.append(tcp_custom_port())
    for full in (16, 18, 21):
        caps.append(ext_rcode(full))
    caps.append(ext_rcode(23, cookie=True))
    caps.append(ext_rcode(16, proto="tcp"))
    caps.append(ext_rcode(2, name="gen_dns_ext_rcode_0_servfail_control"))
    caps.append(forged_same_direction())
    caps.append(smtp_quit_with_fin())
    caps.append(smtp_pipelined_then_fin())
    caps.append(smtp_one_sided("gen_smtp_syn_retransmitted_then_fin", 1, []))
    caps.append(smtp_one_sided("gen_smtp_one_sided_data_then_fin", 0,
                               [b"EHLO client.example.test\r\n", b"QUIT\r\n"]))
    caps.append(smtp_long_ehlo(False))
    caps.append(smtp_long_ehlo(True))
    caps.append(smtp_pipelined_14())
    caps.append(smtp_syn_icmp_retransmit(False))
    caps.append(smtp_syn_icmp_retransmit(True))
    caps.append(qdcount0("gen_dns_notimp_qdcount0", 4, opcode=2))
    caps.append(qdcount0("gen_dns_formerr_qdcount0", 1, two_opts=True))
    caps.append(qdcount0("gen_dns_formerr_qdcount0_tcp", 1, proto="tcp", two_opts=True))
    caps.append(qdcount0("gen_dns_notimp_qdcount0_wrong_id", 4, opcode=2, wrong_id=True))
    caps.append(late_answer("udp"))
    caps.append(late_answer("tcp"))
    caps.append(icmp_unreach("gen_dns_icmp_port_unreachable", False, 3, False))
    caps.append(icmp_unreach("gen_dns_icmp_host_unreachable", False, 1, True))
    caps.append(icmp_unreach("gen_dns_icmp_admin_prohibited", False, 13, False))
    caps.append(icmp_unreach("gen_dns_icmp6_port_unreachable", True, 4, False))
    caps.append(icmp_unreach("gen_dns_icmp6_admin_prohibited", True, 1, False))
    caps.append(icmp_unreach("gen_dns_icmp6_addr_unreachable_router", True, 3, True))
    for n in range(8):
        caps.append(ipv6_ext(n))
    caps.append(smtp_forged_rst_to_syn())
    caps.append(smtp_forged_greeting_out_of_window())
    caps.append(dns_tcp_forged_answer_out_of_window())
    caps.append(smtp_pipelined_64k())
    caps.append(late_answer_wrong_question("udp"))
    caps.append(late_answer_wrong_question("tcp"))
    caps.append(icmp6_unreach_ext_quote())
    caps.append(tcp_query_icmp_unreach())
    return caps


def main():
    os.makedirs(OUT, exist_ok=True)
    for cap in all_captures():
        print(cap.write())


if __name__ == "__main__":
    main()
