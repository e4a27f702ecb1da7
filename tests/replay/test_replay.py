"""Field captures as tests: every case of cases.py replayed past the real agent in each of its
roles, the agent's metric deltas compared with tshark's reading of the same file.

One test method per case and role (test_<case>__<role>). The two roles run on their own benches
(namespace, veth pair, agent) in parallel threads; each bench replays its cases one after the
other, scraping before and after each. REPLAY_CASES=regex limits the cases replayed.
"""
import os
import re
import shutil
import tempfile
import threading
import unittest

import cases as C
import reference as R
import replay as P

TOLERANCE_S = 0.003  # per latency sample: kernel hook time vs the observer's timestamp

# Metric families compared exactly (their every series for the case's servers, both roles).
COMPARED_PREFIXES = ("mxsense_dns_", "mxsense_smtp_")
COMPARED_GLOBAL = {
    "mxsense_sensor_dns_late_responses_total": {},
    "mxsense_sensor_dns_same_direction_responses_total": {},
    "mxsense_sensor_parse_errors_total": {"reason": "ipv6_extension_headers"},
    "mxsense_sensor_tcp_rejected_total": {},  # every protocol and reason
}
NOT_COMPARED_SUFFIXES = ("_bucket", "_sum")
UNSOLICITED = ("mxsense_dns_unsolicited_responses_total",
               "mxsense_sensor_dns_unsolicited_unknown_total")
KEEP_LABELS = ("server", "role", "proto", "rcode", "outcome", "code", "reason", "result",
               "protocol")


def _selected():
    pat = os.environ.get("REPLAY_CASES")
    return [c for c in C.CASES if not pat or re.search(pat, c.name)]


class _Runs:
    """Replays every selected case in both roles once, on first use; results per (case, role)."""

    lock = threading.Lock()
    results = None
    benches = []

    @classmethod
    def get(cls, case, role):
        with cls.lock:
            if cls.results is None:
                cls.results = {}
                cls._run_all()
        r = cls.results.get((case.name, role))
        if r is None:
            raise unittest.SkipTest(f"case {case.name} not selected (REPLAY_CASES)")
        return r

    @classmethod
    def _run_all(cls):
        selected = _selected()
        try:
            readings = read_references(selected)
        except Exception as e:  # noqa: BLE001  (every case reports it)
            for c in selected:
                for role in c.roles:
                    cls.results[(c.name, role)] = e
            return
        threads = []
        for role in C.BOTH:
            todo = [c for c in selected if role in c.roles]
            t = threading.Thread(target=cls._run_role, args=(role, todo, readings),
                                 name=f"replay-{role}")
            threads.append(t)
            t.start()
        for t in threads:
            t.join()

    @classmethod
    def _run_role(cls, role, todo, readings):
        bench = P.Bench(role, C.AGENT_OPTIONS)
        cls.benches.append(bench)
        try:
            bench.up()
            bench.enter()
        except Exception as e:  # noqa: BLE001  (every case of the role reports the bench's failure)
            for c in todo:
                cls.results[(c.name, role)] = e
            bench.leave()
            return
        try:
            for c in todo:
                try:
                    cls.results[(c.name, role)] = run_case(bench, c, readings[c.name])
                except Exception as e:  # noqa: BLE001  (reported by the case's method)
                    cls.results[(c.name, role)] = e
        finally:
            bench.leave()

    @classmethod
    def teardown(cls):
        for b in cls.benches:
            b.down()
        cls.benches = []


def _norm(labels):
    return tuple(sorted((k, v) for k, v in labels if k in KEEP_LABELS))


def deltas(before, after, servers):
    """Nonzero deltas of the compared series: {(metric, labels): delta}."""
    out = {}
    for (name, labels), v in after.items():
        d = dict(labels)
        if name in UNSOLICITED:
            if name == UNSOLICITED[1] or d.get("server") in servers:
                out[("unsolicited_any", ())] = out.get(("unsolicited_any", ()), 0) + \
                    v - before.get((name, labels), 0)
            continue
        if name in COMPARED_GLOBAL:
            if not all(d.get(k) == want for k, want in COMPARED_GLOBAL[name].items()):
                continue
        elif not (name.startswith(COMPARED_PREFIXES) and d.get("server") in servers and
                  not name.endswith(NOT_COMPARED_SUFFIXES)):
            continue
        dv = v - before.get((name, labels), 0)
        if dv:
            k = (name, _norm(labels))
            out[k] = out.get(k, 0) + dv
    return {k: v for k, v in out.items() if v}


def read_references(cases):
    """tshark's reading of every case's capture (its ports remapped as the replay remaps them):
    {case name: frames}."""
    tmp = tempfile.mkdtemp(prefix="mxsense-replay-ref-")
    try:
        inputs = []
        for c in cases:
            path = c.path
            n = len(P.read_pcap(path))
            if c.portmap:  # the MACs stay as captured: the split may depend on them
                path = os.path.join(tmp, f"{c.name}.pcap")
                frames = P.read_pcap(c.path)
                P.rewrite(c.path, path, [(":".join(f"{x:02x}" for x in d[6:12]),
                                          ":".join(f"{x:02x}" for x in d[0:6])) for _, d in frames],
                          P.parse_portmap(c.portmap))
            inputs.append((path, n, P.server_side_rule(c.split)))
        decode_as = sorted({d for c in cases for d in c.decode_as})
        frames = R.read_many(inputs, os.path.join(tmp, "all.pcap"), decode_as)
        return {c.name: f for c, f in zip(cases, frames)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_case(bench, case, ref):
    o = C.AGENT_OPTIONS
    exp = R.expected_deltas(ref, bench.role, o["dns_ports"], o["smtp_ports"], o["tls_ports"],
                            o["dns_timeout"], o["sweep_interval"])
    before, seen, frames, end = bench.replay(case, case.path, [f.server_side for f in ref])
    after = bench.settle(exp.smtp_attempts > 0, end)
    bench.check_seen_by_agent(before, after, seen)
    servers = exp.servers | {f.src for f in ref if f.server_side and f.src} | \
        {f.dst for f in ref if not f.server_side and f.dst}
    got = deltas(before, after, servers)
    want = {(m, _norm(ls)): v for (m, ls), v in exp.values.items()}
    return {"want": want, "got": got, "exp": exp, "seen": seen, "before": before,
            "after": after, "frames": len(frames)}


def _fmt(key):
    name, labels = key
    return name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}" if labels else "")


def latency_bounds(samples, seen, pick):
    """Sum of latency lower and upper bounds from the observer's timestamps of the frames that
    carried each query and response (1-based frame numbers)."""
    lo = hi = 0.0
    for s in samples:
        q, r = pick(s)
        tq = [seen[n - 1][2] for n in q]
        tr = [seen[n - 1][2] for n in r]
        lo += min(tr) - max(tq)
        hi += max(tr) - min(tq)
    return lo, hi


class _ReplayBase(unittest.TestCase):
    role = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        P.L.require_root(cls)

    def check(self, case):
        r = _Runs.get(case, self.role)
        if isinstance(r, Exception):
            if isinstance(r, (P.ReplayError, R.CaseError)):
                self.fail(f"{case.name} [{self.role}]: bench error, not a sensor result: {r}")
            raise r
        want, got = r["want"], r["got"]
        keys = sorted(set(want) | set(got), key=_fmt)
        bad = [k for k in keys if want.get(k, 0) != got.get(k, 0)]
        if bad:
            table = "\n".join(f"  {'!!' if k in bad else '  '} {_fmt(k)}: want {want.get(k, 0):g}"
                              f", got {got.get(k, 0):g}" for k in keys)
            self.fail(f"{case.name} [role {self.role}] ({case.issue}: {case.what}):\n"
                      f"metric deltas differ from tshark's reading of {case.pcap}:\n{table}")
        exp, seen, before, after = r["exp"], r["seen"], r["before"], r["after"]
        # Latency: the histogram's sum against the replay's own gaps on the watched interface.
        checks = []
        for server, proto in {(s[0], s[1]) for s in exp.dns_samples}:
            ss = [s for s in exp.dns_samples if (s[0], s[1]) == (server, proto)]
            lo, hi = latency_bounds(ss, seen, lambda s: (s[2], s[3]))
            checks.append(("mxsense_dns_response_duration_seconds_sum",
                           dict(server=server, role=self.role, proto=proto), lo, hi, len(ss)))
        for server in {s[0] for s in exp.smtp_samples}:
            ss = [s for s in exp.smtp_samples if s[0] == server]
            lo, hi = latency_bounds(ss, seen, lambda s: ([s[1]], [s[2]]))
            checks.append(("mxsense_smtp_connect_duration_seconds_sum",
                           dict(server=server, role=self.role), lo, hi, len(ss)))
        for name, labels, lo, hi, n in checks:
            d = P.L.delta(before, after, name, **labels)
            tol = TOLERANCE_S * n
            self.assertTrue(lo - tol <= d <= hi + tol,
                            f"{case.name} [role {self.role}]: {name}{labels} grew {d * 1e3:.3f} ms;"
                            f" the replay's gaps give {lo * 1e3:.3f}..{hi * 1e3:.3f} ms"
                            f" (± {tol * 1e3:.0f} ms)")


def tearDownModule():
    _Runs.teardown()


def _method(case):
    def test(self):
        self.check(case)
    test.__doc__ = f"{case.issue}: {case.what}"
    return test


class ReplayHostIsClient(_ReplayBase):
    """The client side's frames leave the watched interface (TC), the server's arrive (XDP)."""
    role = "client"


class ReplayHostIsServer(_ReplayBase):
    """The server side's frames leave the watched interface (TC), the client's arrive (XDP)."""
    role = "server"


for _c in C.CASES:
    for _cls in (ReplayHostIsClient, ReplayHostIsServer):
        if _cls.role in _c.roles:
            setattr(_cls, f"test_{_c.name}", _method(_c))
del _c, _cls  # not test classes of their own
