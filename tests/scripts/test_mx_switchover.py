"""scripts/mx-switchover: without a network, key files, the switchover record and its MAC
(computed here from the documented construction, not by the script), the UPDATE it builds
(decoded here byte by byte against RFC 2136, not by dnspython), its arguments; then, as root,
the script's own decisions against a real BIND primary in a lab namespace (cheap: one server,
no secondary): a forged record, a restore that finds the operator's change, an earlier
version's state file, --server forms, name case, a name server that does not answer. The
server-side cases (TSIG, prerequisites, NOTIFY to a BIND secondary, BIND and Knot):
tests/integration/test_switchover_lab.py.

MXSENSE_SWITCHOVER=PATH runs the lab cases against another copy of the script (an older one,
to see which fail on it).
"""
import base64
import contextlib
import hashlib
import hmac
import importlib.machinery
import importlib.util
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PATH = os.path.join(ROOT, "scripts", "mx-switchover")
SWITCHOVER = os.environ.get("MXSENSE_SWITCHOVER") or PATH
loader = importlib.machinery.SourceFileLoader("mx_switchover", PATH)
spec = importlib.util.spec_from_loader("mx_switchover", loader)
S = importlib.util.module_from_spec(spec)
loader.exec_module(S)

import dns.rdata  # noqa: E402  (after the script, which reports a missing dnspython)
import dns.rdataclass  # noqa: E402
import dns.rdataset  # noqa: E402
import dns.rdatatype  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lab as L  # noqa: E402

ORIGINAL = [(10, "mx1.example.test."), (20, "mx2.example.test.")]
SWAPPED = [(10, "mx2.example.test."), (20, "mx1.example.test.")]
ZONE = "example.test."
SECRET = b"0123456789abcdef0123456789abcdef"


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def mac(secret, zone, strings):
    """The record's MAC as README and the script's docstring describe it, written out here:
    HMAC-SHA256 keyed with HMAC-SHA256(TSIG secret, "mxsense-switchover record key") over the
    zone (lower case, final dot) and each string before mac=, each after a 2-byte length."""
    key = hmac.new(secret, b"mxsense-switchover record key", hashlib.sha256).digest()
    msg = b""
    for s in [zone.lower(), *strings]:
        msg += struct.pack("!H", len(s.encode())) + s.encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def signed(strings, secret=SECRET, zone=ZONE):
    """strings with the mac= string a key holder would append."""
    return [*strings, "mac=" + mac(secret, zone, strings)]


def txt(*strings):
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT,
                               " ".join(f'"{s}"' for s in strings))


def txt_rdataset(*rdatas):
    rds = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    for rd in rdatas:
        rds.add(rd, 300)
    return rds


class KeyFile(unittest.TestCase):
    def test_tsig_keygen_output(self):
        text = subprocess.run(["tsig-keygen", "-a", "hmac-sha384", "sw-key.example"],
                              capture_output=True, text=True, check=True).stdout
        secret = text.split('secret "')[1].split('"')[0]
        with tempfile.TemporaryDirectory() as d:
            key = S.load_key(write(d, "tsig.key", "# made by tsig-keygen\n" + text))
        self.assertEqual(key.name.to_text(), "sw-key.example.")
        self.assertEqual(key.algorithm.to_text(), "hmac-sha384.")
        self.assertEqual(key.secret, __import__("base64").b64decode(secret))

    def test_a_secret_holding_comment_marks(self):
        """Base64 has '/': a secret with "//" (1.5 % of random hmac-sha384 keys) was cut at it
        as a comment, and the key refused ("needs an algorithm and a secret")."""
        secret = "ab//cd#e/*f+" + "A" * 52 + "=="
        with tempfile.TemporaryDirectory() as d:
            key = S.load_key(write(d, "tsig.key", f'key "k" {{\n\talgorithm hmac-sha384;\n'
                                                  f'\tsecret "{secret}"; // the secret\n}};\n'))
        self.assertEqual(key.secret, __import__("base64").b64decode(secret))

    def test_first_of_two_statements_with_comments(self):
        text = ('/* keys */ key other { algorithm hmac-sha256; // x\n secret "c2VjcmV0"; };\n'
                'key "second" { algorithm hmac-sha1; secret "c2Vjb25k"; };\n')
        self.assertEqual(S.key_fields("/k.conf", text), ("other", "c2VjcmV0", "hmac-sha256"))

    def test_private_file_of_the_key_pair_format(self):
        with tempfile.TemporaryDirectory() as d:
            private = write(d, "Ksw-key.example.+163+01234.private",
                            "Private-key-format: v1.3\nAlgorithm: 163 (HMAC_SHA256)\n"
                            "Key: c2VjcmV0\nBits: AAA=\n")
            write(d, "Ksw-key.example.+163+01234.key",
                  "sw-key.example. IN KEY 512 3 163 c2VjcmV0\n")
            for path in (private, private[:-len("private")] + "key"):
                with open(path) as f:
                    text = f.read()
                self.assertEqual(S.key_fields(path, text),
                                 ("sw-key.example.", "c2VjcmV0", "hmac-sha256"), path)
            md5 = S.load_key(write(d, "Kold.+157+00001.private",
                                   "Private-key-format: v1.2\nAlgorithm: 157 (HMAC_MD5)\n"
                                   "Key: c2VjcmV0\n"))
            self.assertEqual(md5.algorithm.to_text().lower(), "hmac-md5.sig-alg.reg.int.")

    def test_no_key_is_a_usage_error_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            for text in ("", "key x { algorithm hmac-sha256; };",
                         'key x { algorithm rsasha256; secret "c2VjcmV0"; };'):
                path = write(d, "bad.conf", text)
                with self.assertRaises(S.Failure) as e:
                    S.load_key(path)
                self.assertEqual(e.exception.code, S.EXIT_USAGE)
                self.assertIn(path, str(e.exception))
            with self.assertRaises(S.Failure) as e:
                S.load_key(os.path.join(d, "missing.key"))
            self.assertEqual(e.exception.code, S.EXIT_USAGE)


GOOD = ["mxsense-switchover=2", "ttl=300", "original=10 mx1.example.test.",
        "original=20 mx2.example.test.", "set=10 mx2.example.test.", "set=20 mx1.example.test.",
        "by=agent-a", "at=2024-01-02T03:04:05Z"]


class Record(unittest.TestCase):
    def parse(self, strings, secret=SECRET, zone=ZONE):
        return S.parse_record(txt_rdataset(txt(*strings)), zone, secret)

    def assert_not_ours(self, strings, secret=SECRET, msg=None):
        with self.assertRaises(S.Failure, msg=msg or strings) as e:
            self.parse(strings, secret)
        self.assertEqual(e.exception.code, S.EXIT_CONFLICT, msg or strings)
        self.assertIn("not mxsense's record", str(e.exception))
        return str(e.exception)

    def test_round_trip_text_and_mac(self):
        rec = S.Record(ZONE, ORIGINAL, 300, SWAPPED, "agent-a", "2024-01-02T03:04:05Z")
        expect = signed(GOOD)
        self.assertEqual(rec.rdata(SECRET).to_text(), " ".join(f'"{s}"' for s in expect))
        back = self.parse(expect)
        self.assertEqual((back.original, back.ttl, back.made, back.by, back.at),
                         (ORIGINAL, 300, SWAPPED, "agent-a", "2024-01-02T03:04:05Z"))
        # by= and at= are optional, covered by the MAC when there
        self.assertEqual(self.parse(signed(GOOD[:6])).made, SWAPPED)

    def test_the_mac_covers_the_zone_and_every_string(self):
        self.assert_not_ours(signed(GOOD)[:-1], msg="no mac")
        self.assert_not_ours([*GOOD, "mac=" + "0" * 64], msg="made-up mac")
        self.assert_not_ours(signed(GOOD, secret=b"another secret"), msg="another key")
        with self.assertRaises(S.Failure):
            self.parse(signed(GOOD), zone="other.test.")
        genuine_mac = signed(GOOD)[-1]
        # each string changed to another well-formed value, the genuine MAC kept
        others = ["ttl=86400", "original=10 evil.example.test.", "original=30 mx2.example.test.",
                  "set=10 mx3.example.test.", "set=20 mx3.example.test.", "by=agent-b",
                  "at=2024-01-02T03:04:06Z"]
        for i, changed in enumerate(others, 1):
            strings = [*GOOD[:i], changed, *GOOD[i + 1:]]
            self.parse(signed(strings))  # well-formed: only the MAC tells
            self.assert_not_ours([*strings, genuine_mac], msg=changed)
        reordered = [GOOD[0], GOOD[1], GOOD[4], GOOD[5], GOOD[2], GOOD[3], *GOOD[6:]]
        self.assert_not_ours([*reordered, genuine_mac], msg="reordered")
        self.assert_not_ours(signed(GOOD), secret=None, msg="no key to check it")

    def test_the_forged_record_of_the_review(self):
        """What a TXT-only key (ACME DNS-01) could write: the earlier, MAC-less format."""
        why = self.assert_not_ours(["mxsense-switchover=1", "ttl=86400",
                                    "original=10 evil.example.test.",
                                    "original=20 mx3.attacker.invalid.",
                                    "set=10 mx1.example.test.", "set=20 mx2.example.test."])
        self.assertIn("earlier version", why)

    def test_every_field_checked_strictly_even_under_a_valid_mac(self):
        """A key holder's malformed record is refused too (exit 6, never a traceback)."""
        g, body, made = GOOD[0], GOOD[2:], GOOD[4:]
        cases = [[g, f"ttl={v}", *body] for v in ("-5", "4294967296", "2147483648", "0300",
                                                  "", "x", "3e2")]
        cases += [[g, "ttl=300", "ttl=300", *body], [g, *body],
                  [g, "ttl=300", "original=70000 mx1.example.test.", *made],
                  [g, "ttl=300", "original=10 mx1..example.test.", *made],
                  [g, "ttl=300", "original=10", *made],
                  [g, "ttl=300", "original=10  mx1.example.test.", *made],
                  [g, "ttl=300", "original=10 mx1.example.test", *made],
                  [g, "ttl=300", "original=10 mx1.example.test.",
                   "original=10 MX1.example.test.", *made],
                  [*GOOD[:6], "extra=1"], [*GOOD[:6], "by=a b"], [*GOOD[:6], "at=yesterday"],
                  [*GOOD[:6], "at=2024-01-02T03:04:05Z", "by=agent-a"]]
        for strings in cases:
            self.assert_not_ours(signed(strings))
        for strings in (["v=spf1 -all"], signed(["mxsense-switchover=3", *GOOD[1:]]),
                        signed(GOOD[:1] + GOOD[4:]), signed(GOOD[:4]),
                        signed([GOOD[0], "ttl=300", "original=10 m\u00e9.example.test.",
                                *GOOD[4:]])):
            self.assert_not_ours(strings)
        with self.assertRaises(S.Failure) as e:  # two records at the name
            S.parse_record(txt_rdataset(txt(*signed(GOOD)), txt(*signed(GOOD[:6]))), ZONE,
                           SECRET)
        self.assertEqual(e.exception.code, S.EXIT_CONFLICT)

    def test_a_string_longer_than_255_bytes_is_refused(self):
        host = ".".join(["a" * 60] * 4) + "."
        with self.assertRaises(S.Failure):
            S.Record(ZONE, [(10, host)], 300, [(10, host)]).strings(SECRET)


def wire_name(buf, off):
    """(name text, offset after it) of a DNS name at off (RFC 1035 4.1.4 pointers)."""
    labels, end = [], None
    while True:
        n = buf[off]
        if n & 0xC0 == 0xC0:
            end = end or off + 2
            off = struct.unpack("!H", buf[off:off + 2])[0] & 0x3FFF
            continue
        if n == 0:
            return ".".join(labels) + ".", end or off + 1
        labels.append(buf[off + 1:off + 1 + n].decode())
        off += 1 + n


def decode_update(buf):
    """RFC 2136 sections from wire: zone, prerequisites, updates as (name, type, class, ttl,
    rdlength) tuples; the additional section (TSIG) is left out."""
    ident, flags, zo, pr, up, ad = struct.unpack("!6H", buf[:12])
    off = 12
    zname, off = wire_name(buf, off)
    ztype, zclass = struct.unpack("!HH", buf[off:off + 4])
    off += 4
    sections = []
    for count in (pr, up):
        rrs = []
        for _ in range(count):
            name, off = wire_name(buf, off)
            rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
            off += 10 + rdlen
            rrs.append((name, rtype, rclass, ttl, rdlen))
        sections.append(rrs)
    return (flags >> 11) & 0xF, (zname, ztype, zclass, zo), sections[0], sections[1], ad


IN, NONE, ANY = 1, 254, 255
MX, TXT, SOA = 15, 16, 6


IN, NONE, ANY = 1, 254, 255
MX, TXT, SOA = 15, 16, 6


class Update(unittest.TestCase):
    def test_promote_message_follows_rfc2136(self):
        rec = S.Record(ZONE, ORIGINAL, 300, SWAPPED, "a", "")
        steps = S.plan(ZONE, ORIGINAL, SWAPPED, 60, None, rec.rdata(SECRET), False)
        key = S.dns.tsig.Key("k.", "c2VjcmV0", "hmac-sha256")
        opcode, zone, prereq, update, additional = decode_update(
            S.update_message(ZONE, steps, key).to_wire())
        self.assertEqual(opcode, 5)  # UPDATE
        self.assertEqual(zone, ("example.test.", SOA, IN, 1))
        # 2.4.2 value-dependent RRset exists: class IN, TTL 0; 2.4.4 RRset does not exist:
        # class NONE, TTL 0, no RDATA.
        self.assertEqual([r[:4] for r in prereq],
                         [("example.test.", MX, IN, 0)] * 2
                         + [("_mxsense.example.test.", TXT, NONE, 0)])
        self.assertEqual(prereq[2][4], 0)
        # 2.5.2 delete an RRset: class ANY, TTL 0, no RDATA; 2.5.1 add: class IN, the TTL.
        self.assertEqual([r[:4] for r in update],
                         [("example.test.", MX, ANY, 0)] + [("example.test.", MX, IN, 60)] * 2
                         + [("_mxsense.example.test.", TXT, IN, 60)])
        self.assertEqual(additional, 1)  # TSIG

    def test_restore_asserts_the_record_read_and_deletes_it(self):
        rd = S.Record(ZONE, ORIGINAL, 300, SWAPPED, "a", "").rdata(SECRET)
        steps = S.plan(ZONE, SWAPPED, ORIGINAL, 300, txt_rdataset(rd), None, True)
        text = S.update_text("192.0.2.1", 53, ZONE, steps)
        self.assertEqual(text.splitlines(), [
            "server 192.0.2.1 53", "zone example.test.",
            "prereq yxrrset example.test. IN MX 10 mx2.example.test.",
            "prereq yxrrset example.test. IN MX 20 mx1.example.test.",
            f"prereq yxrrset _mxsense.example.test. IN TXT {rd.to_text()}",
            "update delete example.test. IN MX",
            "update add example.test. 300 IN MX 10 mx1.example.test.",
            "update add example.test. 300 IN MX 20 mx2.example.test.",
            "update delete _mxsense.example.test. IN TXT", "send"])
        _, _, prereq, update, _ = decode_update(
            S.update_message(ZONE, steps, None).to_wire())
        self.assertEqual(prereq[2][:4], ("_mxsense.example.test.", TXT, IN, 0))
        self.assertEqual(update[-1][:4], ("_mxsense.example.test.", TXT, ANY, 0))

    def test_removing_a_record_leaves_the_mx_rrset(self):
        """A restore that finds the operator's change removes only the record, while the MX
        RRset and the record are as read."""
        rds = txt_rdataset(S.Record(ZONE, ORIGINAL, 300, SWAPPED).rdata(SECRET))
        steps = S.plan(ZONE, SWAPPED, None, None, rds, None, True)
        _, _, prereq, update, _ = decode_update(S.update_message(ZONE, steps, None).to_wire())
        self.assertEqual([r[:4] for r in prereq], [("example.test.", MX, IN, 0)] * 2
                         + [("_mxsense.example.test.", TXT, IN, 0)])
        self.assertEqual([r[:4] for r in update], [("_mxsense.example.test.", TXT, ANY, 0)])


class Changes(unittest.TestCase):
    def test_promoted(self):
        three = ORIGINAL + [(30, "mx3.example.test.")]
        self.assertEqual(S.promoted(three, "mx3.example.test."),
                         [(10, "mx3.example.test."), (20, "mx1.example.test."),
                          (30, "mx2.example.test.")])
        self.assertEqual(S.promoted([(10, "a."), (10, "b.")], "b."), [(10, "b."), (11, "a.")])
        with self.assertRaises(S.Failure) as e:
            S.promoted(ORIGINAL, "mx9.example.test.")
        self.assertEqual(e.exception.code, S.EXIT_UNSAFE)

    def test_names_keep_the_zones_case(self):
        zone = [(10, "MX1.Example.Test."), (20, "Mx2.Example.Test.")]
        self.assertEqual(S.promoted(zone, "mx2.example.test."),
                         [(10, "Mx2.Example.Test."), (20, "MX1.Example.Test.")])
        self.assertTrue(S.same_mx(zone, ORIGINAL))
        self.assertFalse(S.same_mx(zone, SWAPPED))
        self.assertEqual(S.parse_mx_list("20 MX2.example.test, 10 mx1.example.test."),
                         [(10, "mx1.example.test."), (20, "MX2.example.test.")])

    def test_state_file_of_the_earlier_version_is_never_taken_over(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertIsNone(S.load_legacy(d, ZONE))
            write(d, "example.test.json", '{"mx": [[10, "mx1.example.test."], '
                                          '[20, "mx2.example.test."]], "ttl": 300}')
            legacy = S.load_legacy(d, ZONE)
            self.assertEqual(legacy, (ORIGINAL, 300, None))
            e = S.legacy_refusal(os.path.join(d, "example.test.json"), legacy, "example.test")
            self.assertEqual(e.code, S.EXIT_CONFLICT)
            self.assertIn("set '10 mx1.example.test., 20 mx2.example.test.'", str(e))
            for text in ("{", '{"mx": [[10]], "ttl": 300}', '{"mx": [], "ttl": -1}', "[]"):
                write(d, "example.test.json", text)
                mx, ttl, why = S.load_legacy(d, ZONE)
                self.assertIn("unreadable", why, text)

    def test_parse_mx_list(self):
        self.assertEqual(S.parse_mx_list("20 mx2.example.test, 10 mx1.example.test."), ORIGINAL)
        self.assertEqual(S.parse_mx_list(" "), [])
        for bad in ("10", "x mx1", "70000 mx1", "10 " + "a" * 64 + ".test", "10 a..b",
                    "10 mx1.example.test, 10 MX1.example.test."):
            with self.assertRaises(S.Failure, msg=bad) as e:
                S.parse_mx_list(bad)
            self.assertEqual(e.exception.code, S.EXIT_USAGE)


class Arguments(unittest.TestCase):
    """Bad arguments: exit 2 with a message, never a traceback. main() runs against 127.0.0.1
    (where nothing answers DNS), so a value that got past the checks fails otherwise (exit 1,
    or an exception) instead of reaching a network."""

    def main(self, *args):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                code = S.main(["--zone", "example.test", "--dry-run", "--server", "127.0.0.1",
                               *args, "promote", "mx2.example.test"])
            except SystemExit as e:  # argparse
                code = e.code
        return code, err.getvalue()

    def test_usage_errors(self):
        cases = {("--failover-ttl", "-1"): "--failover-ttl",
                 ("--failover-ttl", "2147483648"): "--failover-ttl",
                 ("--port", "70000"): "--port", ("--port", "0"): "--port",
                 ("--verify-timeout", "nan"): "--verify-timeout",
                 ("--verify-timeout", "0"): "--verify-timeout",
                 ("--update-timeout", "-3"): "--update-timeout",
                 ("--zone", "example.test.."): "bad zone",
                 # dnspython escapes these (exa\\032mple.test) and the run went to the network
                 ("--zone", "exa mple.test"): "not a domain name",
                 ("--zone", "example.test;"): "not a domain name",
                 ("--server", "ns1..example.test"): "--server",
                 ("--server", "[fd00::20"): "--server"}
        for args, said in cases.items():
            code, err = self.main(*args)
            self.assertEqual(code, 2, f"{args}: {err}")
            self.assertIn(said, err, args)

    def test_default_verify_timeout_is_well_under_the_agents_hook_timeout(self):
        """A lagging secondary must be named (exit 5) before the agent kills the hook: the
        default hook timeout (userspace/actions/hook_spec.h, which the options extend) minus the
        default --verify-timeout leaves at least 10 s for the reads and the update."""
        with open(os.path.join(ROOT, "userspace", "actions", "hook_spec.h")) as f:
            hook = re.search(r"struct HookSpec \{.*?double timeout_s = ([\d.]+);", f.read(),
                             re.S)
        self.assertIsNotNone(hook, "HookSpec::timeout_s not found in hook_spec.h")
        self.assertLessEqual(S.parse_args([]).verify_timeout + 10, float(hook.group(1)))


NS1, NS1_6, NS2 = "198.18.0.20", "fd00::20", "198.18.0.21"
LAB_ZONE = f"""$ORIGIN example.test.
$TTL 300
@       SOA ns1 hostmaster 1 3600 600 86400 60
@       NS  ns1
@       MX  10 mx1
@       MX  20 mx2
ns1     A   {NS1}
ns1     AAAA {NS1_6}
mx1     A   198.18.0.10
mx2     A   198.18.0.11
mx3     A   198.18.0.12
evil    A   198.18.0.66
"""


def record_strings(dig_line):
    return re.findall(r'"([^"]*)"', dig_line)


class AgainstBind(unittest.TestCase):
    """The script against a real BIND 9 primary (one server, in a lab namespace; BIND keeps the
    case of names in RDATA, which Knot does not); the client namespace runs the script. Keys: the switchover key (MX at the apex, TXT at _mxsense),
    an ACME-style key that may write TXT anywhere in the zone (what a DNS-01 client gets),
    and an admin key for the test's own changes. Every result is read back with dig."""

    @classmethod
    def setUpClass(cls):
        cls.lab = lab = L.Lab.for_test_class(cls)
        lab.server.run("ip", "addr", "add", f"{NS1}/24", "dev", lab.server_if)
        lab.server.run("ip", "addr", "add", f"{NS2}/24", "dev", lab.server_if)
        lab.server.run("ip", "addr", "add", f"{NS1_6}/64", "dev", lab.server_if, "nodad")
        cls.key = lab.tsig_key()
        cls.acme = lab.tsig_key(name="acme")
        cls.admin = lab.tsig_key(name="admin")
        with open(cls.key) as f:
            cls.secret = base64.b64decode(re.search(r'secret "([^"]+)";', f.read()).group(1))
        d = os.path.join(lab.tmp, "bind")
        os.makedirs(d)
        zone = os.path.join(d, "example.test.zone")
        with open(zone, "w") as f:
            f.write(LAB_ZONE)
        conf = os.path.join(d, "named.conf")
        with open(conf, "w") as f:
            f.write("".join(f'include "{k}";\n' for k in (cls.key, cls.acme, cls.admin)) + f"""
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port 53 {{ {NS1}; }};
    listen-on-v6 port 53 {{ {NS1_6}; }};
    recursion no;
    dnssec-validation no;
}};
controls {{ }};
zone "example.test" {{
    type primary;
    file "{zone}";
    update-policy {{ grant mxsense-switchover name example.test. MX;
                     grant mxsense-switchover name _mxsense.example.test. TXT;
                     grant acme subdomain example.test. TXT;
                     grant admin zonesub ANY; }};
}};
""")

        def answers():
            r = lab.client.run("dig", "+time=1", "+tries=1", f"@{NS1}", "example.test", "SOA",
                               check=False)
            return "status: NOERROR" in r.stdout
        lab.start(lab.server, "named", "-g", "-c", conf, ready=answers)
        lab.resolv_conf(lab.client, NS1)  # --server NAME resolves through the primary
        cls.state = os.path.join(lab.tmp, "state")

    def setUp(self):
        """The zone as it started: 300 MX 10 mx1, 20 mx2, no record, no state file."""
        self.update("update delete example.test. MX",
                    *[f"update add example.test. 300 MX {p} {h}" for p, h in ORIGINAL],
                    "update delete _mxsense.example.test. TXT")
        shutil.rmtree(self.state, ignore_errors=True)
        self.assertEqual(self.mx(), ORIGINAL)

    # ---- reading and writing the zone without the script --------------------------

    def dig(self, name, rtype, server=NS1):
        r = self.lab.client.run("dig", "+norecurse", "+noall", "+answer", f"@{server}", name,
                                rtype)
        return [line.split(None, 4) for line in r.stdout.splitlines() if line.strip()]

    def mx(self):
        return sorted((int(f[4].split()[0]), f[4].split()[1]) for f in
                      self.dig("example.test", "MX"))

    def mx_ttl(self):
        return {int(f[1]) for f in self.dig("example.test", "MX")}

    def serial(self):
        return int(self.dig("example.test", "SOA")[0][4].split()[2])

    def record(self):
        """The TXT strings at _mxsense, or None."""
        rrs = self.dig("_mxsense.example.test", "TXT")
        self.assertLessEqual(len(rrs), 1, rrs)
        return record_strings(rrs[0][4]) if rrs else None

    def recorded(self, key="original"):
        strings = self.record()
        self.assertIsNotNone(strings, "no record")
        return sorted((int(v.split()[0]), v.split()[1]) for s in strings
                      if s.startswith(key + "=") for v in [s[len(key) + 1:]])

    def update(self, *lines, key=None):
        text = f"server {NS1}\nzone example.test\n" + "\n".join(lines) + "\nsend\n"
        r = self.lab.client.run("nsupdate", "-t", "5", "-k", key or self.admin, input=text,
                                check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def put_txt(self, strings, key=None):
        quoted = " ".join(f'"{s}"' for s in strings)
        self.update("update delete _mxsense.example.test. TXT",
                    f"update add _mxsense.example.test. 300 TXT {quoted}", key=key)

    def switchover(self, *args, server=NS1):
        r = self.lab.client.run(SWITCHOVER, "--zone", "example.test", "--server", server,
                                "--key-file", self.key, "--state-dir", self.state,
                                "--verify-timeout", "5", *args, check=False, timeout=60)
        self.assertNotIn("Traceback", r.stderr)
        return r

    def ok(self, *args):
        r = self.switchover(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    # ---- the cases ------------------------------------------------------------------

    def test_a_record_written_with_txt_access_alone_gains_nothing(self):
        """The review's repro: an ACME key writes a record naming its own original; promote,
        then restore. The zone ends at its real original (the old script served 86400 MX 10
        evil.example.test.)."""
        forged = ["mxsense-switchover=1", "ttl=86400", "original=10 evil.example.test.",
                  "original=20 mx3.attacker.invalid.", "set=10 mx1.example.test.",
                  "set=20 mx2.example.test."]
        self.put_txt(forged, key=self.acme)
        serial = self.serial()
        r = self.switchover("restore")  # not trusted: nothing to restore from it
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn("not mxsense's record", r.stderr)
        self.assertEqual((self.serial(), self.mx()), (serial, ORIGINAL))
        self.ok("promote", "mx2.example.test")  # replaces it: the live set is the original
        self.assertEqual(self.mx(), SWAPPED)
        self.assertEqual(self.recorded("original"), ORIGINAL)
        self.ok("restore")
        self.assertEqual((self.mx(), self.mx_ttl(), self.record()), (ORIGINAL, {300}, None))
        # The same with the current format and a made-up MAC, or a genuine record whose
        # original the ACME key rewrote keeping its MAC: during a failover, restore refuses
        # and the zone stays in its failover order.
        for tamper in ("made-up", "rewritten"):
            self.ok("promote", "mx2.example.test")
            genuine = self.record()
            if tamper == "made-up":
                strings = [s for s in genuine if not s.startswith("mac=")] + ["mac=" + "1" * 64]
            else:
                strings = [s.replace("original=10 mx1.", "original=10 evil.") for s in genuine]
            self.put_txt(strings, key=self.acme)
            serial = self.serial()
            r = self.switchover("restore")
            self.assertEqual(r.returncode, 6, f"{tamper}: {r.stderr}")
            self.assertEqual((self.serial(), self.mx()), (serial, SWAPPED), tamper)
            self.setUp()

    def test_a_record_with_values_out_of_range_is_refused(self):
        """ttl=-5 and ttl=4294967296 (the old script: struct.error, exit 1), in the earlier
        format and in the current one with a valid MAC (a key holder's own mistake)."""
        self.update("update delete example.test. MX",
                    *[f"update add example.test. 300 MX {p} {h}" for p, h in SWAPPED])
        for ttl in ("-5", "4294967296"):
            body = ["ttl=" + ttl, "original=10 mx1.example.test.",
                    "original=20 mx2.example.test.", "set=10 mx2.example.test.",
                    "set=20 mx1.example.test."]
            for strings in (["mxsense-switchover=1", *body],
                            signed(["mxsense-switchover=2", *body], self.secret)):
                self.put_txt(strings)
                serial = self.serial()
                r = self.switchover("restore")
                self.assertEqual(r.returncode, 6, f"{strings}: {r.stderr}")
                self.assertIn("not mxsense's record", r.stderr)
                self.assertEqual((self.serial(), self.mx()), (serial, SWAPPED))

    def test_a_restore_that_finds_the_operators_change_removes_the_record(self):
        """The review's repro: promote mx2; the operator adds 30 mx3 by hand; restore exits 6;
        the operator drops mx3 by hand, keeping 10 mx2, 20 mx1 on purpose; mx2 fails later:
        promote mx1 and restore end at the operator's 10 mx2, 20 mx1 (the old script kept
        the record and restored the stale 10 mx1, 20 mx2)."""
        self.ok("promote", "mx2.example.test")
        self.update("update add example.test. 300 MX 30 mx3.example.test.")
        r = self.switchover("restore")
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertEqual(self.mx(), SWAPPED + [(30, "mx3.example.test.")])
        self.assertIsNone(self.record())  # no stale claim remains
        self.assertIn("original 10 mx1.example.test., 20 mx2.example.test.", r.stderr)
        self.update("update delete example.test. MX 30 mx3.example.test.")
        self.ok("promote", "mx1.example.test")
        self.assertEqual(self.mx(), ORIGINAL)
        self.assertEqual(self.recorded("original"), SWAPPED)
        self.ok("restore")
        self.assertEqual((self.mx(), self.record()), (SWAPPED, None))

    def test_state_file_of_an_earlier_version_is_never_taken_over(self):
        """The review's repro: the old state file saved 10 mx1, 20 mx2; the operator set
        60 MX 10 mx2, 20 mx1 by hand; restore leaves the zone alone (the old script wrote
        300 MX 10 mx1, 20 mx2 back). Every run but set exits 6 while the file is there; the
        operator's set removes it."""
        os.makedirs(self.state)
        path = os.path.join(self.state, "example.test.json")
        with open(path, "w") as f:
            f.write('{"mx": [[10, "mx1.example.test."], [20, "mx2.example.test."]], '
                    '"ttl": 300}')
        self.update("update delete example.test. MX",
                    *[f"update add example.test. 60 MX {p} {h}" for p, h in SWAPPED])
        serial = self.serial()
        for action in (["restore"], ["promote", "mx1.example.test"]):
            r = self.switchover(*action)
            self.assertEqual(r.returncode, 6, r.stderr)
            self.assertIn(f"the state file {path}", r.stderr)
            self.assertIn("set '10 mx1.example.test., 20 mx2.example.test.'", r.stderr)
            self.assertEqual((self.serial(), self.mx(), self.mx_ttl()), (serial, SWAPPED, {60}))
            self.assertTrue(os.path.exists(path))
        self.ok("set", "10 mx1.example.test, 20 mx2.example.test")
        self.assertEqual((self.mx(), self.mx_ttl()), (ORIGINAL, {300}))
        self.assertFalse(os.path.exists(path))

    def test_server_by_name_or_bracketed_ipv6(self):
        for server, address in (("ns1.example.test", NS1), (f"[{NS1_6}]", NS1_6),
                                (NS1_6, NS1_6)):
            r = self.switchover("--dry-run", "promote", "mx2.example.test", server=server)
            self.assertEqual(r.returncode, 0, f"{server}: {r.stderr}")
            self.assertIn(f"server {address} 53\n", r.stdout)
        r = self.switchover("restore", server="nothing.example.test")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--server 'nothing.example.test': the name has no address", r.stderr)

    def test_host_names_keep_the_zones_case(self):
        mixed = [(10, "MX1.Example.Test."), (20, "Mx2.example.TEST.")]
        self.update("update delete example.test. MX",
                    *[f"update add example.test. 300 MX {p} {h}" for p, h in mixed])
        self.assertEqual(self.mx(), mixed, "the server keeps the case (else nothing to test)")
        self.ok("promote", "mx2.example.test")
        self.assertEqual(self.mx(), [(10, "Mx2.example.TEST."), (20, "MX1.Example.Test.")])
        self.assertEqual(self.recorded("original"), mixed)
        self.ok("restore")
        self.assertEqual((self.mx(), self.record()), (mixed, None))

    def test_a_name_server_that_does_not_answer_is_named_within_the_verify_timeout(self):
        """ns2 drops every query: the script must exit 5 naming it within --verify-timeout
        (plus the reads and the update), not after rounds of 2-s timeouts: the agent kills a
        hook at its timeout before it can say which server lags."""
        self.update("update add example.test. 300 NS ns2.example.test.",
                    f"update add ns2.example.test. 300 A {NS2}")
        drop = ["INPUT", "-d", NS2, "-p", "udp", "--dport", "53", "-j", "DROP"]
        self.lab.server.run("iptables", "-A", *drop)
        try:
            start = time.monotonic()
            r = self.switchover("promote", "mx2.example.test", "--verify-timeout", "3")
            took = time.monotonic() - start
            self.assertEqual(r.returncode, 5, r.stderr)
            self.assertIn(f"ns2.example.test. ({NS2}): serial None", r.stderr)
            self.assertLess(took, 3 + 2.5, r.stderr)
        finally:
            self.lab.server.run("iptables", "-D", *drop)
            self.update("update delete example.test. NS ns2.example.test.",
                        "update delete ns2.example.test. A")


if __name__ == "__main__":
    unittest.main()
