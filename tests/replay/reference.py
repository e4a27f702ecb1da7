"""The expected metric deltas of a replayed capture, from tshark's reading of the file.

tshark decodes every frame (DNS over UDP and TCP with its own reassembly, ICMP errors and what
they quote, IPv6 extension headers); this module applies the rules the README states for the
sensor's counters to that reading, frame by frame in capture order:

- A DNS query is counted once per (transport, client, client port, server, server port, id);
  the same key again while it is in flight is a retransmission, not a new query.
- A response pairs with the query in flight with the same key whose frame travelled the other
  way (a response travels opposite to its query) and whose question is the same (RFC 5452);
  an answer without a question section (QDCOUNT=0, RFC 1035), or to a query whose question
  could not be read, pairs by id and endpoints alone (and counts as without question). A
  "response" travelling the query's own way is no answer (counted as same-direction).
  Its rcode is the full 12-bit RCODE: the OPT record's EXTENDED-RCODE is the upper 8 bits (RFC
  6891 §6.1.3). A pair is one latency sample, unless the query was sent again before the
  answer (the answer counts as retried: its time is the client's retry timer).
- A response whose query is past the timeout is late (and its query unanswered) if it pairs by
  the rules above, question included: one with another question is mismatched, late or not. A
  response with nothing to pair with is unsolicited (per server, or "unknown" for a server never
  queried: the two are compared as one sum, the split depends on what the agent saw before).
- An ICMP/ICMPv6 destination unreachable quoting a UDP query in flight (behind whatever IPv6
  extension headers tshark decodes in the quote), travelling opposite to it, ends it as
  unreachable; one quoting a TCP segment ends no DNS query.
- A query still in flight at the end of the capture is unanswered.
- An IPv6 packet behind more than 6 extension headers is a parse error, nothing else.
- SMTP (RFC 5321, RFC 9293): a client SYN opens an attempt (its retransmission does not); the
  server's SYN-ACK makes it established (one connect-latency sample), its RST refused, an ICMP
  unreachable quoting the SYN unreachable, none of these timeout. The server's replies are read
  from its byte stream, by sequence number, up to the server's close: the first complete reply
  is the greeting, the others replies, labelled as the README's metric table says; a 220 to
  STARTTLS starts TLS (RFC 3207), after which nothing is read.
- TCP acceptance (README "Forged segments", RFC 9293 §3.10.7, RFC 5961), for SMTP and DNS over
  TCP from the client's SYN on: a SYN-ACK, or an RST answering the SYN, must acknowledge the SYN;
  after the handshake an RST must sit exactly at its stream's receive point; other segments need
  an ACK within what the other side sent, and a sequence number from the stream's start to 65534
  bytes past its receive point (the largest unscaled window). A segment this host sends first
  moves the other side's receive point up to its ACK. A rejected frame is counted by reason and
  nothing else: no outcome, no reply, no DNS message.

The caller says which frames came from the server's side (tcpprep's split).
"""
import json
import re
import subprocess

IP6_EXT_MAX = 6
IP6_EXT = {"ipv6.hopopts", "ipv6.dstopts", "ipv6.routing", "ipv6.fraghdr", "ah"}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
SMTP_OWN_CODES = {220, 250, 354, 421, 450, 451, 452, 454, 500, 501, 502, 503, 504, 550, 551, 552,
                  553, 554}


class CaseError(Exception):
    """The capture cannot give a definite expectation (e.g. an answer too near the timeout)."""


def rcode_label(full):
    return RCODES[full] if full < len(RCODES) else "OTHER"


def smtp_code_label(code):
    return str(code) if code in SMTP_OWN_CODES else f"{code // 100}xx"


def tshark_frames(pcap, decode_as=()):
    """tshark's JSON reading of every frame: a list of dicts of layers."""
    cmd = ["tshark", "-n", "-r", pcap, "-T", "json", "--no-duplicate-keys",
           "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tcp.analyze_sequence_numbers:TRUE",
           "-o", "tcp.relative_sequence_numbers:FALSE"]
    for d in decode_as:
        cmd += ["-d", d]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    return [p["_source"]["layers"] for p in json.loads(r.stdout)]


def _find(obj, key):
    """Every value of key anywhere under obj (tshark's JSON nests fields in subtrees)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.extend(v if isinstance(v, list) else [v])
            else:
                out.extend(_find(v, key))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(_find(v, key))
    return out


def _one(obj, key, default=None):
    v = _find(obj, key)
    return v[0] if v else default


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _int(s):
    return int(s, 0) if isinstance(s, str) else int(s)


def _dns_messages(dns_layers):
    """(id, qr, rcode_full, qdcount, question-or-None, tc) of each DNS message tshark decoded."""
    out = []
    for d in dns_layers:
        flags = d.get("dns.flags_tree", {})
        qd = _int(d.get("dns.count.queries", "0"))
        q = None
        queries = d.get("Queries")
        if qd == 1 and isinstance(queries, dict) and queries:
            qq = next(iter(queries.values()))
            q = (qq["dns.qry.name"].lower(), _int(qq["dns.qry.type"]), _int(qq["dns.qry.class"]))
        ext = [_int(x) for x in _find(d.get("Additional records", {}), "dns.resp.ext_rcode")]
        rcode = _int(flags.get("dns.flags.rcode", "0")) | ((ext[0] if ext else 0) << 4)
        out.append({"id": _int(d["dns.id"]), "qr": _int(flags.get("dns.flags.response", "0")),
                    "rcode": rcode, "qdcount": qd, "question": q,
                    "tc": _int(flags.get("dns.flags.truncated", "0")), "opcode":
                    _int(flags.get("dns.flags.opcode", "0"))})
    return out


class Frame:
    """What the model needs of one frame."""

    def __init__(self, n, layers, server_side, offset=0):
        self.n = n
        self.server_side = server_side
        self.time = float(layers["frame"]["frame.time_epoch"])
        self.eth_src = layers.get("eth", {}).get("eth.src")
        protos = layers["frame"]["frame.protocols"].split(":")
        self.ext_headers = sum(1 for p in protos if p in IP6_EXT)
        self.ipv6 = "ipv6" in layers
        l3 = layers.get("ipv6") if self.ipv6 else layers.get("ip")
        self.src = (l3 or {}).get("ipv6.src" if self.ipv6 else "ip.src")
        self.dst = (l3 or {}).get("ipv6.dst" if self.ipv6 else "ip.dst")
        self.icmp = None
        for name, type_key, code_key, unreach in (("icmp", "icmp.type", "icmp.code", 3),
                                                  ("icmpv6", "icmpv6.type", "icmpv6.code", 1)):
            if name in layers and _int(layers[name][type_key]) == unreach:
                ic = layers[name]
                qip = ic.get("ipv6") if self.ipv6 else ic.get("ip")
                qudp, qtcp = ic.get("udp"), ic.get("tcp")
                ql4 = qudp or qtcp
                self.icmp = {
                    "code": _int(ic[code_key]),
                    "proto": "udp" if qudp else ("tcp" if qtcp else None),
                    "src": (qip or {}).get("ipv6.src" if self.ipv6 else "ip.src"),
                    "dst": (qip or {}).get("ipv6.dst" if self.ipv6 else "ip.dst"),
                    "sport": _int(ql4["udp.srcport" if qudp else "tcp.srcport"]) if ql4 else None,
                    "dport": _int(ql4["udp.dstport" if qudp else "tcp.dstport"]) if ql4 else None,
                    "dns": _dns_messages(_as_list(ic.get("dns"))),
                }
        self.proto = None
        if not self.icmp:
            if "udp" in layers:
                self.proto, l4 = "udp", layers["udp"]
                self.sport, self.dport = _int(l4["udp.srcport"]), _int(l4["udp.dstport"])
            elif "tcp" in layers:
                self.proto, l4 = "tcp", layers["tcp"]
                self.sport, self.dport = _int(l4["tcp.srcport"]), _int(l4["tcp.dstport"])
                flags = l4.get("tcp.flags_tree", {})
                self.syn = flags.get("tcp.flags.syn") == "1"
                self.ack = flags.get("tcp.flags.ack") == "1"
                self.fin = flags.get("tcp.flags.fin") == "1"
                self.rst = flags.get("tcp.flags.reset") == "1"
                self.seq = _int(l4["tcp.seq_raw"] if "tcp.seq_raw" in l4 else l4["tcp.seq"])
                self.ack_no = _int(l4["tcp.ack_raw"] if "tcp.ack_raw" in l4 else l4["tcp.ack"])
                self.tcp_len = _int(l4.get("tcp.len", "0"))
                payload = l4.get("tcp.payload")
                self.payload = bytes.fromhex(payload.replace(":", "")) if payload else b""
            self.dns = _dns_messages(_as_list(layers.get("dns")))
            # Frames holding the segments of the DNS messages completed here (tshark's reassembly).
            segs = _find(layers.get("tcp", {}), "tcp.segment")
            self.segment_frames = sorted({_int(s) - offset for s in segs} | {n})


TCP_WINDOW = 65535  # the largest window without scaling (RFC 9293 §3.1): the README's bound
ACK_SPAN = 1 << 30  # the largest scaled window (RFC 7323 §2.3)


def _diff(a, b):
    """a - b in sequence space, as a signed 32-bit number."""
    d = (a - b) % 2**32
    return d - 2**32 if d >= 2**31 else d


class TcpStreams:
    """Both byte streams of one TCP connection as its receiving ends accept them (README
    "Forged segments"), from the client's SYN on: per side ('c', 's') the receive point (past the
    last accepted byte, SYN and FIN counted) and the floor (ISS + 1, at most 2^30 behind)."""

    def __init__(self, syn):
        self.next = {"c": (syn.seq + 1 + syn.tcp_len) % 2**32, "s": None}
        self.floor = {"c": (syn.seq + 1) % 2**32, "s": None}

    def acks_syn(self, f):
        """RFC 9293 §3.10.7.3: ACK set, SND.UNA < SEG.ACK =< SND.NXT."""
        return f.ack and _diff(f.ack_no, self.floor["c"]) >= 0 and \
            _diff(self.next["c"], f.ack_no) >= 0

    def synack(self, f):
        self.next["s"] = self.floor["s"] = (f.seq + 1) % 2**32

    def _advance(self, side, to):
        if _diff(to, self.next[side]) > 0:
            self.next[side] = to % 2**32
            if (self.next[side] - self.floor[side]) % 2**32 > ACK_SPAN:
                self.floor[side] = (self.next[side] - ACK_SPAN) % 2**32

    def judge(self, f, side, egress):
        """A segment after the SYN (not a SYN-ACK): None when accepted, else why not."""
        other = "c" if side == "s" else "s"
        if self.next[side] is None:
            return "window"  # the server's data before an accepted SYN-ACK
        peer = self.next[other] is not None
        if egress and peer and f.ack and _diff(f.ack_no, self.next[other]) > 0:
            self._advance(other, f.ack_no)  # what this host's TCP received
        if f.rst:
            return None if f.seq == self.next[side] else "rst"  # RFC 5961 §3.2
        if peer and not (f.ack and _diff(f.ack_no, self.floor[other]) >= 0 and
                         _diff(self.next[other], f.ack_no) >= 0):
            return "ack"  # RFC 9293 §3.10.7.4, RFC 5961 §5.2
        d = _diff(f.seq, self.next[side])
        if d >= TCP_WINDOW:
            return "window"
        end = f.seq + f.tcp_len + (1 if f.fin else 0)
        if d < 0:
            nothing_new = _diff(end, self.next[side]) <= 0  # a retransmission, a keep-alive
            if _diff(f.seq, self.floor[side]) < (-1 if nothing_new else 0):
                return "window"
        self._advance(side, end)
        return None


def _dns_tcp_rejected(e, conns, f, dns_ports, egress):
    """Judge a DNS-over-TCP frame against its connection's record: the reason it is rejected, or
    None. A SYN on a recorded 4-tuple waits for the SYN-ACK that acknowledges it."""
    if f.syn and not f.ack:
        k = (f.src, f.sport, f.dst, f.dport)
        st = conns.get(k)
        if st is None:
            conns[k] = {"syn": f.seq, "tcp": TcpStreams(f), "pending": None}
        elif f.seq != st["syn"]:
            st["pending"] = f
        return None
    from_client = not f.syn and f.dport in dns_ports  # a SYN-ACK comes from the server
    k = (f.src, f.sport, f.dst, f.dport) if from_client else (f.dst, f.dport, f.src, f.sport)
    st = conns.get(k)
    if st is None:
        return None  # no SYN seen: read unchecked
    if f.syn:
        p = st["pending"]
        if p is not None and TcpStreams(p).acks_syn(f):
            st.update(syn=p.seq, tcp=TcpStreams(p), pending=None)
            st["tcp"].synack(f)
            return "synack_ok"
        if not st["tcp"].acks_syn(f):
            return "syn_ack"
        if st["tcp"].next["s"] is None:
            st["tcp"].synack(f)
        return "synack_ok"
    return st["tcp"].judge(f, "c" if from_client else "s", egress)


class Expected:
    """Expected deltas: {(metric, labels): value}, latency samples, and what they measure."""

    def __init__(self):
        self.values = {}
        self.dns_samples = []    # (server, proto, query frame numbers, response frame numbers)
        self.smtp_samples = []   # (server, SYN frame, SYN-ACK frame)
        self.servers = set()
        self.smtp_attempts = 0
        self.dns_queries = 0

    def add(self, metric, n=1, **labels):
        k = (metric, tuple(sorted(labels.items())))
        self.values[k] = self.values.get(k, 0) + n


def expected_deltas(frames, role, dns_ports=(53,), smtp_ports=(25, 465, 587), tls_ports=(465,),
                    dns_timeout=1.0, sweep_interval=0.1):
    """The expected deltas of a replay in role ('client': the client side's frames leave the
    watched interface; 'server': they arrive on it)."""
    e = Expected()
    inflight = {}  # key -> (time, question, server_side, frames)
    retried = set()  # keys of queries sent again while in flight
    smtp = {}      # (client, cport, server, sport) -> state
    dns_tcp = {}   # (client, cport, server, sport) -> DNS-over-TCP connection record
    margin = 0.3   # seconds either side of the timeout where the outcome depends on timers

    for f in frames:
        if f.ipv6 and f.ext_headers > IP6_EXT_MAX:
            e.add("mxsense_sensor_parse_errors_total", reason="ipv6_extension_headers")
            continue
        if f.icmp:
            ic = f.icmp
            if ic["proto"] == "udp" and ic["dport"] in dns_ports:
                qid = ic["dns"][0]["id"] if ic["dns"] else None
                for key, q in list(inflight.items()):
                    proto, client, cport, server, sport, kid = key
                    if ((proto, client, cport, server, sport) ==
                            ("udp", ic["src"], ic["sport"], ic["dst"], ic["dport"]) and
                            (qid is None or qid == kid) and q[2] != f.server_side):
                        del inflight[key]
                        e.add("mxsense_dns_unreachable_total", server=server, role=role, proto="udp")
            if ic["proto"] == "tcp" and ic["dport"] in smtp_ports:
                k = (ic["src"], ic["sport"], ic["dst"], ic["dport"])
                st = smtp.get(k)
                if st and st["state"] == "syn" and st["server_side"] != f.server_side:
                    st["state"] = "done"
                    e.add("mxsense_smtp_connections_total", server=k[2], role=role,
                          outcome="unreachable")
            continue
        if f.proto is None:
            continue
        egress = f.server_side == (role == "server")  # this host sent it (TC)
        # ---- DNS
        dns_msgs = f.dns
        if f.proto == "tcp" and (f.dport in dns_ports or f.sport in dns_ports):
            why = _dns_tcp_rejected(e, dns_tcp, f, dns_ports, egress)
            if why == "synack_ok":
                dns_msgs = []
            elif why is not None:
                e.add("mxsense_sensor_tcp_rejected_total", protocol="dns", reason=why)
                dns_msgs = []
        for m in dns_msgs:
            if m["qr"] == 0 and f.dport in dns_ports:
                # A query whose question cannot be read (QDCOUNT != 1, cut) is still tracked
                # by its header: its answer pairs by id and endpoints alone.
                key = (f.proto, f.src, f.sport, f.dst, f.dport, m["id"])
                e.servers.add(f.dst)
                if key in inflight:
                    if inflight[key][2] == f.server_side:
                        retried.add(key)  # sent again: its answer's time is the client's timer
                    continue
                question = m["question"] if m["qdcount"] == 1 else None
                inflight[key] = (f.time, question, f.server_side, f.segment_frames)
                e.dns_queries += 1
                e.add("mxsense_dns_queries_total", server=f.dst, role=role, proto=f.proto)
            elif m["qr"] == 1 and f.sport in dns_ports:
                key = (f.proto, f.dst, f.dport, f.src, f.sport, m["id"])
                q = inflight.get(key)
                if q is None:
                    e.add("unsolicited_any")
                    continue
                if q[2] == f.server_side:
                    # The query's own direction: no answer; the query stays in flight.
                    e.add("mxsense_sensor_dns_same_direction_responses_total")
                    continue
                answer_q = m["question"] if m["qdcount"] == 1 else None
                if answer_q is not None and q[1] is not None and answer_q != q[1]:
                    e.add("mxsense_dns_mismatched_responses_total", server=f.src, role=role,
                          proto=f.proto)
                    continue
                del inflight[key]
                was_retried = key in retried
                retried.discard(key)
                gap = f.time - q[0]
                if abs(gap - dns_timeout) < margin + sweep_interval:
                    raise CaseError(f"frame {f.n}: answer {gap:.3f}s after its query, too near "
                                    f"the {dns_timeout}s timeout for a definite expectation")
                if gap > dns_timeout:
                    e.add("mxsense_dns_unanswered_total", server=f.src, role=role, proto=f.proto)
                    e.add("mxsense_sensor_dns_late_responses_total")
                    continue
                e.add("mxsense_dns_responses_total", server=f.src, role=role, proto=f.proto,
                      rcode=rcode_label(m["rcode"]))
                if was_retried:
                    e.add("mxsense_dns_retried_responses_total", server=f.src, role=role,
                          proto=f.proto)
                else:
                    e.add("mxsense_dns_response_duration_seconds_count", server=f.src, role=role,
                          proto=f.proto)
                if answer_q is None or q[1] is None:
                    e.add("mxsense_dns_responses_without_question_total", server=f.src,
                          role=role, proto=f.proto)
                if m["tc"]:
                    e.add("mxsense_dns_truncated_responses_total", server=f.src, role=role,
                          proto=f.proto)
                if not was_retried:
                    e.dns_samples.append((f.src, f.proto, q[3], f.segment_frames))
        # ---- SMTP
        if f.proto == "tcp" and (f.dport in smtp_ports or f.sport in smtp_ports):
            _smtp_frame(e, smtp, f, role, smtp_ports, tls_ports, egress)

    for key in inflight:
        e.add("mxsense_dns_unanswered_total", server=key[3], role=role, proto=key[0])
    for k, st in smtp.items():
        if st["state"] == "syn":
            e.add("mxsense_smtp_connections_total", server=k[2], role=role, outcome="timeout")
    return e


def _smtp_frame(e, smtp, f, role, smtp_ports, tls_ports, egress):
    from_client = f.dport in smtp_ports
    k = (f.src, f.sport, f.dst, f.dport) if from_client else (f.dst, f.dport, f.src, f.sport)
    server = k[2]
    st = smtp.get(k)
    if from_client and f.syn and not f.ack:
        e.servers.add(server)
        if st is None or st["state"] == "closed":
            smtp[k] = {"state": "syn", "syn_frame": f.n, "server_side": f.server_side,
                       "greeted": False, "buf": b"", "next": None, "closed": False,
                       "tcp": TcpStreams(f)}
            e.smtp_attempts += 1
        return
    if st is None or st["state"] == "closed" or st["closed"]:
        return  # no connection: nothing judged, nothing counted

    def rejected(why):
        e.add("mxsense_sensor_tcp_rejected_total", protocol="smtp", reason=why)

    tcp = st["tcp"]
    if from_client:
        why = tcp.judge(f, "c", egress)
        if why:
            return rejected(why)
    elif f.syn and f.ack:
        if not tcp.acks_syn(f):
            return rejected("syn_ack")
        if st["state"] == "syn":
            tcp.synack(f)
    elif f.rst and st["state"] in ("syn", "done"):  # no SYN-ACK seen: it must answer the SYN
        if not tcp.acks_syn(f):
            return rejected("rst")
    elif st["state"] == "open":
        why = tcp.judge(f, "s", egress)
        if why:
            return rejected(why)
    if from_client:
        if (st["state"] == "open" and not st.get("tls") and
                f.payload[:8].upper() == b"STARTTLS"):
            st["starttls"] = True  # RFC 3207 §4
        if (f.fin or f.rst) and st["state"] == "open" and not st["greeted"] and not st["closed"]:
            # The client gave up before any reply; replies may still come until the server closes.
            st["client_closed_ungreeted"] = True
        return
    if f.syn and f.ack:
        if st["state"] == "syn":
            st["state"] = "open"
            st["next"] = f.seq + 1
            e.add("mxsense_smtp_connections_total", server=server, role=role, outcome="established")
            e.add("mxsense_smtp_connect_duration_seconds_count", server=server, role=role)
            e.smtp_samples.append((server, st["syn_frame"], f.n))
        return
    if f.rst:
        if st["state"] == "syn":
            e.add("mxsense_smtp_connections_total", server=server, role=role, outcome="refused")
        st["state"] = "closed"
        return
    if st["state"] != "open" or st["closed"]:
        return
    if f.payload and f.seq == st["next"] and not st.get("tls"):
        st["next"] += len(f.payload)
        st["buf"] += f.payload
        while b"\n" in st["buf"] and not st.get("tls"):
            line, st["buf"] = st["buf"].split(b"\n", 1)
            m = re.match(rb"^(\d{3})([ \r-]|$)", line)
            if not m or m.group(2) == b"-":
                continue  # not a reply line, or not the last line of a multi-line reply
            code = int(m.group(1))
            if not st["greeted"]:
                st["greeted"] = True
                e.add("mxsense_smtp_greetings_total", server=server, role=role,
                      code=smtp_code_label(code))
                e.add("mxsense_smtp_greeting_duration_seconds_count", server=server, role=role)
            else:
                e.add("mxsense_smtp_replies_total", server=server, role=role,
                      code=smtp_code_label(code))
                if st.pop("starttls", False):
                    if code == 220:  # what follows is TLS, not SMTP
                        st["tls"] = True
                        e.add("mxsense_smtp_starttls_total", server=server, role=role,
                              result="started")
                    elif code == 454 or code >= 500:
                        e.add("mxsense_smtp_starttls_total", server=server, role=role,
                              result="refused")
    if f.fin:
        st["closed"] = True
        if st.get("client_closed_ungreeted") and not st["greeted"]:
            e.add("mxsense_smtp_closed_before_greeting_total", server=server, role=role)


def read_many(captures, merged, decode_as=()):
    """Frames of each capture, read by one tshark run (its start costs most of its time) over
    their concatenation; captures is [(path, frame count, is_server_side)], their TCP and UDP
    4-tuples distinct. is_server_side(frame) says which frames came from the server's side of
    the wire (the same split tcpprep makes)."""
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", merged, *[c[0] for c in captures]],
                   check=True, capture_output=True, timeout=60)
    layers = tshark_frames(merged, decode_as)
    if len(layers) != sum(c[1] for c in captures):
        raise CaseError(f"tshark read {len(layers)} frames, the captures hold "
                        f"{sum(c[1] for c in captures)}")
    out, off = [], 0
    for _, count, is_server_side in captures:
        frames = [Frame(i + 1, layers[off + i], False, off) for i in range(count)]
        for f in frames:
            f.server_side = is_server_side(f)
        out.append(frames)
        off += count
    return out
