"""The replay cases: which capture, how tcpprep splits it, the roles it applies to, what it needs
of the agent's options, and what it is. Expected deltas are never written here: they come from
tshark's reading of the capture (reference.py).
"""
import os
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = os.path.join(HERE, "captures")

# The options of the one agent per role that every case shares.
AGENT_OPTIONS = {
    "dns_ports": [53, 8053],
    "dns_timeout": 1.0,            # late answers come 1.5 s after their query
    "sweep_interval": 0.1,
    "smtp_ports": [25, 465, 587],
    "tls_ports": [465],
    "smtp_connect_timeout": 1.0,   # one-sided SYNs time out within the test's budget
    "smtp_idle_timeout": 5.0,
}

SERVER_SIDE_MAC = "02:00:00:00:5e:02"  # make_captures.py's SERVER_SIDE
BOTH = ("client", "server")


@dataclass
class Case:
    name: str
    pcap: str
    what: str
    issue: str                        # where the kind is described
    split: tuple = ("mac", (SERVER_SIDE_MAC,))
    roles: tuple = BOTH
    needs: tuple = ()                 # agent options the expectation depends on
    portmap: str = ""                 # tcprewrite --portmap: a 4-tuple no other case uses
    decode_as: tuple = field(default=())  # tshark -d for ports other than the defaults

    @property
    def path(self):
        return os.path.join(CAPTURES, self.pcap)


def _field(name, pcap, what, server, **kw):
    return Case(name, pcap, what, "field-cases", split=("cidr", (f"{server}/32",)), **kw)


def _gen(name, what, issue, **kw):
    return Case(name, f"gen_{name}.pcap", what, issue, **kw)


CASES = [
    # ---- ../shared/field-cases (provenance in captures/README.md) ----------------------------
    _field("field_dns_badvers", "min_dns_badvers.pcap",
           "UDP answer with EDNS extended RCODE 16 (BADVERS)", "198.18.0.53"),
    _field("field_dns_tcp_query_len_alone", "min_dns_tcp_query-len-alone.pcap",
           "TCP: the client writes the 2-byte length alone", "198.18.0.53"),
    _field("field_dns_tcp_resp_len_alone", "min_dns_tcp_resp-len-alone.pcap",
           "TCP: the server writes the response's length alone", "198.18.0.53",
           portmap="33779:33780"),
    _field("field_smtp_quit_fin_then_221", "min_smtp_quit_fin_then_221.pcap",
           "SMTP: QUIT, the client's FIN, then the server's 221", "198.18.0.25"),
    _field("field_smtp_quit_221_control", "min_smtp_quit_221_control.pcap",
           "SMTP: 221, then the server closes (control)", "198.18.0.25", portmap="40000:40001"),
    _field("field_smtp_syn_then_fin", "min_smtp_syn_then_fin.pcap",
           "SMTP one-sided: a SYN, then the client's FIN; timeout after the connect timeout",
           "198.18.0.25", needs=("smtp_connect_timeout",)),
]

# ---- issue 10 item 3: DNS over TCP, the message start split anywhere ---------------------------
for who in ("query", "answer"):
    for where, how in (("1byte", "a 1-byte first segment"),
                       ("in_header", "a boundary inside the header"),
                       ("in_question", "a boundary inside the question")):
        CASES.append(_gen(f"dns_tcp_{who}_split_{where}", f"TCP: the {who} starts with {how}",
                          "10.3"))
    plural = "queries" if who == "query" else "answers"
    for where, how in (("len_alone", "after its length"), ("1byte", "inside its length"),
                       ("in_header", "inside its header"), ("in_question", "inside its question")):
        CASES.append(_gen(f"dns_tcp_two_{plural}_second_split_{where}",
                          f"TCP: two {plural} in one segment, the second cut {how}", "10.3"))
CASES.append(_gen("dns_tcp_len_alone_every_message",
                  "TCP: both sides write the length alone before every message, two exchanges",
                  "10.3"))
CASES.append(_gen("dns_tcp_port8053_len_alone_and_1byte",
                  "TCP on DNS port 8053: the query's length alone, the answer's first segment "
                  "1 byte", "10.3", needs=("dns_ports",), decode_as=("tcp.port==8053,dns",)))

# ---- issue 10 item 4: EDNS extended RCODE --------------------------------------------------
for full, low in ((16, "NOERROR"), (18, "SERVFAIL"), (21, "REFUSED")):
    CASES.append(_gen(f"dns_ext_rcode_{full}",
                      f"UDP answer, RCODE {full}: header bits read {low}; compressed names, "
                      f"OPT after answer and authority records", "10.4"))
CASES += [
    _gen("dns_ext_rcode_23_cookie", "UDP answer BADCOOKIE (23) with a COOKIE option", "10.4"),
    _gen("dns_ext_rcode_16_tcp", "TCP answer BADVERS (16)", "10.4"),
    _gen("dns_ext_rcode_0_servfail_control", "SERVFAIL with an OPT record, EXTENDED-RCODE 0 "
         "(control: stays SERVFAIL)", "10.4"),
]

# ---- issue 10 item 7 ------------------------------------------------------------------------
CASES.append(_gen("dns_forged_same_direction_answer",
                  "a forged NXDOMAIN 'answer' from the query's side (server's address); the real "
                  "answer 20 ms later", "10.7"))

# ---- issue 10 item 9 ------------------------------------------------------------------------
CASES += [
    _gen("smtp_quit_with_fin_then_221", "SMTP: QUIT and FIN in one segment, then 221", "10.9"),
    _gen("smtp_pipelined_fin_then_250_221", "SMTP: EHLO+QUIT pipelined, FIN, then 250 and 221 "
         "(with the server's FIN)", "10.9"),
    _gen("smtp_syn_retransmitted_then_fin", "SMTP one-sided: SYN, its retransmission, FIN",
         "10.9", needs=("smtp_connect_timeout",)),
    _gen("smtp_one_sided_data_then_fin", "SMTP one-sided: SYN, client data, FIN", "10.9",
         needs=("smtp_connect_timeout",)),
]

# ---- issue 11 items 5-7 ------------------------------------------------------------------
CASES += [
    _gen("smtp_long_ehlo_then_quit", "SMTP: a 1315-byte EHLO answer in one segment, then 221 "
         "in the next", "11.5"),
    _gen("smtp_long_ehlo_then_starttls", "SMTP: a 1315-byte EHLO answer, STARTTLS, 220, then "
         "TLS records (one holding a line break and digits)", "11.5"),
    _gen("smtp_pipelined_14_replies", "SMTP: 14 pipelined replies (MAIL, 12 RCPT, DATA) in one "
         "segment", "11.6"),
    _gen("smtp_syn_icmp_admin_retransmitted", "SMTP: SYN, ICMP admin-prohibited, the same SYN "
         "1 s later, ICMP again: one attempt", "11.7"),
    _gen("smtp_syn_icmp6_admin_retransmitted", "SMTP over IPv6: SYN, ICMPv6 admin-prohibited, "
         "the same SYN 1 s later, ICMPv6 again: one attempt", "11.7"),
]

# ---- issue 11 item 1: answers without a question ------------------------------------------
CASES += [
    _gen("dns_notimp_qdcount0", "UDP: NOTIMP answer to a STATUS query, QDCOUNT=0", "11.1"),
    _gen("dns_formerr_qdcount0", "UDP: FORMERR answer (two OPT records), QDCOUNT=0", "11.1"),
    _gen("dns_formerr_qdcount0_tcp", "TCP: FORMERR answer, QDCOUNT=0", "11.1"),
    _gen("dns_notimp_qdcount0_wrong_id", "UDP: QDCOUNT=0 answer with another id (control: no "
         "pair, the query stays unanswered)", "11.1", needs=("dns_timeout",)),
]

# ---- issue 11 item 2: late answers ----------------------------------------------------------
CASES += [
    _gen("dns_late_answer_udp", "UDP answer 1.5 s after its query: unanswered and late",
         "11.2", needs=("dns_timeout", "sweep_interval")),
    _gen("dns_late_answer_tcp", "TCP answer 1.5 s after its query: unanswered and late",
         "11.2", needs=("dns_timeout", "sweep_interval")),
]

# ---- issue 11 item 3: ICMP unreachable answering a query ---------------------------------
CASES += [
    _gen("dns_icmp_port_unreachable", "ICMP port unreachable from the server", "11.3"),
    _gen("dns_icmp_host_unreachable", "ICMP host unreachable from a router (on the way: the "
         "host is the client)", "11.3", roles=("client",)),
    _gen("dns_icmp_admin_prohibited", "ICMP administratively prohibited from the server's "
         "firewall", "11.3"),
    _gen("dns_icmp6_port_unreachable", "ICMPv6 port unreachable from the server", "11.3"),
    _gen("dns_icmp6_admin_prohibited", "ICMPv6 administratively prohibited from the server's "
         "firewall", "11.3"),
    _gen("dns_icmp6_addr_unreachable_router", "ICMPv6 address unreachable from a router (the "
         "host is the client)", "11.3", roles=("client",)),
]

# ---- issue 11 item 4: IPv6 extension headers -------------------------------------------
for n in range(8):
    CASES.append(_gen(f"dns_ipv6_ext_{n}", f"UDP over IPv6 behind {n} extension headers" +
                      (" (too many: a parse error)" if n > 6 else ""), "11.4"))

# ---- issue 10, adversarial review: forged segments the receiving TCP drops ---------------
CASES += [
    _gen("smtp_forged_rst_to_syn", "SMTP: RSTs to the SYN in flight with a wrong ACK, no ACK, "
         "ACK = the SYN's own number; then the real SYN-ACK and greeting", "10-adv A1"),
    _gen("smtp_forged_greeting_out_of_window", "SMTP: a line 'x', then '421 ...', before the "
         "greeting: 2^31+5 past the receive point, at 3999999999, just past the 64 KiB bound, "
         "with FIN, in the window without ACK; then the real 220", "10-adv A2"),
    _gen("dns_tcp_forged_answer_out_of_window", "TCP: a forged NXDOMAIN answer far outside the "
         "client's window and before the server's first byte; then the real answer", "10-adv"),
]

# ---- issue 11 items 5 and 6 at the IP maximum ----------------------------------------------
# Role client only: the server's 63 KB frame arrives through the peer, the veth hands XDP a
# multi-buffer frame, as GRO or a jumbo link does. In role server that frame would leave the
# watched interface from tcpreplay's packet socket, which puts everything past the Ethernet
# header of a frame over a page into page fragments; the TC hook reads headers in the linear
# part, where the kernel's own TCP segments (TSO/GSO ones too) keep them. So that role would
# test the packet socket, not the kernel's path; TC's reading of long segments is covered by the
# BPF tests (tests/bpf/smtp_segment_test.cpp, up to the one page a TC test run takes).
CASES += [
    _gen("smtp_pipelined_64k", "SMTP: 1252 pipelined replies (MAIL, 1250 RCPT, DATA) in one "
         "63448-byte server segment, then 250 and 221", "11.5, 11.6", roles=("client",)),
]

# ---- issue 11 items 2 and 3, remainders: late answers checked against their question; quotes --
CASES += [
    _gen("dns_late_answer_wrong_question_udp", "UDP: 1.5 s after the query an answer for another "
         "name (mismatched, not late), then the real answer (late)", "11.2",
         needs=("dns_timeout", "sweep_interval")),
    _gen("dns_late_answer_wrong_question_tcp", "TCP: 1.5 s after the query an answer for another "
         "name (mismatched, not late), then the real answer (late)", "11.2",
         needs=("dns_timeout", "sweep_interval")),
    _gen("dns_icmp6_unreachable_ext_quote", "ICMPv6 port unreachable quoting a query behind "
         "hop-by-hop, fragment and AH headers", "11.3"),
    _gen("dns_tcp_query_icmp_unreachable", "TCP: ICMP port unreachable quoting the query's segment "
         "(length and id), the answer 5 ms later (control: the ICMP ends nothing)", "11.3"),
]

BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES)
