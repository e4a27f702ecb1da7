"""scripts/mx-switchover without a network: key files, the switchover record, the UPDATE it
builds (decoded here byte by byte against RFC 2136, not by dnspython), the earlier version's
state file. The script against real servers: tests/integration/test_switchover_lab.py.
"""
import importlib.machinery
import importlib.util
import os
import struct
import subprocess
import tempfile
import unittest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "mx-switchover")
loader = importlib.machinery.SourceFileLoader("mx_switchover", PATH)
spec = importlib.util.spec_from_loader("mx_switchover", loader)
S = importlib.util.module_from_spec(spec)
loader.exec_module(S)

import dns.rdata  # noqa: E402  (after the script, which reports a missing dnspython)
import dns.rdataclass  # noqa: E402
import dns.rdataset  # noqa: E402
import dns.rdatatype  # noqa: E402

ORIGINAL = [(10, "mx1.example.test."), (20, "mx2.example.test.")]
SWAPPED = [(10, "mx2.example.test."), (20, "mx1.example.test.")]


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


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


def txt_rdataset(*rdatas):
    rds = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    for rd in rdatas:
        rds.add(rd, 300)
    return rds


class Record(unittest.TestCase):
    def txt(self, *strings):
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT,
                                   " ".join(f'"{s}"' for s in strings))

    def test_round_trip_and_text(self):
        rec = S.Record(ORIGINAL, 300, SWAPPED, "agent-a", "2024-01-02T03:04:05Z")
        self.assertEqual(rec.rdata().to_text(),
                         '"mxsense-switchover=1" "ttl=300" "original=10 mx1.example.test." '
                         '"original=20 mx2.example.test." "set=10 mx2.example.test." '
                         '"set=20 mx1.example.test." "by=agent-a" "at=2024-01-02T03:04:05Z"')
        back = S.parse_record(txt_rdataset(rec.rdata()), "_mxsense.example.test.")
        self.assertEqual((back.original, back.ttl, back.made, back.by, back.at),
                         (ORIGINAL, 300, SWAPPED, "agent-a", "2024-01-02T03:04:05Z"))

    def test_anything_else_is_not_ours(self):
        good = ["mxsense-switchover=1", "ttl=300", "original=10 mx1.example.test.",
                "set=10 mx1.example.test."]
        for strings in (["v=spf1 -all"], ["mxsense-switchover=2", *good[1:]],
                        [*good, "extra=1"], good[:3], [*good[:2], *good[3:]],
                        [good[0], "ttl=x", *good[2:]], [*good[:2], "original=10", good[3]]):
            with self.assertRaises(S.Failure, msg=strings) as e:
                S.parse_record(txt_rdataset(self.txt(*strings)), "_mxsense.example.test.")
            self.assertEqual(e.exception.code, S.EXIT_CONFLICT)
        with self.assertRaises(S.Failure) as e:  # two records at the name
            S.parse_record(txt_rdataset(self.txt(*good), self.txt(*good, "by=b")), "n.")
        self.assertEqual(e.exception.code, S.EXIT_CONFLICT)

    def test_a_string_longer_than_255_bytes_is_refused(self):
        host = ".".join(["a" * 60] * 4) + "."
        with self.assertRaises(S.Failure):
            S.Record([(10, host)], 300, [(10, host)]).strings()


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


class Update(unittest.TestCase):
    def test_promote_message_follows_rfc2136(self):
        rec = S.Record(ORIGINAL, 300, SWAPPED, "a", "t")
        steps = S.plan("example.test.", ORIGINAL, SWAPPED, 60, None, rec, False)
        key = S.dns.tsig.Key("k.", "c2VjcmV0", "hmac-sha256")
        opcode, zone, prereq, update, additional = decode_update(
            S.update_message("example.test.", steps, key).to_wire())
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
        rec = S.Record(ORIGINAL, 300, SWAPPED, "a", "t")
        rds = txt_rdataset(rec.rdata())
        steps = S.plan("example.test.", SWAPPED, ORIGINAL, 300, rds, None, True)
        text = S.update_text("192.0.2.1", 53, "example.test.", steps)
        self.assertEqual(text.splitlines(), [
            "server 192.0.2.1 53", "zone example.test.",
            "prereq yxrrset example.test. IN MX 10 mx2.example.test.",
            "prereq yxrrset example.test. IN MX 20 mx1.example.test.",
            f"prereq yxrrset _mxsense.example.test. IN TXT {rec.rdata().to_text()}",
            "update delete example.test. IN MX",
            "update add example.test. 300 IN MX 10 mx1.example.test.",
            "update add example.test. 300 IN MX 20 mx2.example.test.",
            "update delete _mxsense.example.test. IN TXT", "send"])
        _, _, prereq, update, _ = decode_update(
            S.update_message("example.test.", steps, None).to_wire())
        self.assertEqual(prereq[2][:4], ("_mxsense.example.test.", TXT, IN, 0))
        self.assertEqual(update[-1][:4], ("_mxsense.example.test.", TXT, ANY, 0))


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

    def test_state_file_of_the_earlier_version(self):
        self.assertEqual(S.legacy_record((ORIGINAL, 300), SWAPPED).original, ORIGINAL)
        for current in (ORIGINAL, [(10, "mx1.example.test."), (30, "mx2.example.test.")],
                        [(10, "mx9.example.test.")], []):
            self.assertIsNone(S.legacy_record((ORIGINAL, 300), current), current)

    def test_parse_mx_list(self):
        self.assertEqual(S.parse_mx_list("20 MX2.example.test, 10 mx1.example.test."), ORIGINAL)
        self.assertEqual(S.parse_mx_list(" "), [])
        for bad in ("10", "x mx1", "70000 mx1", "10 " + "a" * 64 + ".test"):
            with self.assertRaises(S.Failure, msg=bad) as e:
                S.parse_mx_list(bad)
            self.assertEqual(e.exception.code, S.EXIT_USAGE)


if __name__ == "__main__":
    unittest.main()
