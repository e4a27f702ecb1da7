"""The noise soak's lab (issue 10, "noise is not degradation"): used by bench/soak (30 minutes)
and tests/integration/test_noise_lab.py (3 minutes).

Topology: one L2 segment (a bridge in namespace `w`) joins
  c   the client host (198.18.0.1): the agent on its one interface, and noise_driver.py, which
      sends SMTP sessions and glibc DNS lookups and polls the agent's status API every second;
  m1  mx1.example.test (198.18.0.10), smtp-sink: the primary MX;
  m2  mx2.example.test (198.18.0.11), smtp-sink: the backup MX;
  d   198.18.0.53, Knot, authoritative for example.test: the client's resolver.

Noise, on the links of m1 and d only (made inside those namespaces, on their interface, so it
hits every packet of the link and nothing else):
  delay   the link's egress (server -> client) through nfq_delay: 20 ms +- 15 ms, uniform,
          released in due order (jitter reorders, as it does on a real path and in netem);
  loss    nftables `numgen random mod 1000 < N drop`, in each direction independently:
          1 % all the time; bursts of 10-18 % for 7-9 s (the rules swapped atomically);
  stalls  1-2 s in which the link forwards nothing in either direction (both nfq_delay
          instances hold every packet: SIGUSR1/SIGUSR2), then releases what it held;
  outage  (optional) the MX port of m1 answers every SYN with a RST (nft reject with tcp
          reset), then recovers; the RSTs cross the same noise.
Each link gets its own schedule: `bursts` bursts and `stalls` stalls, one of each in every
equal slot of the run, at random (seeded) places.

Everything is counted where it happens (nft named counters, the delayers' statistics, the
client's own timings), so a run proves that the noise and the traffic were there.
"""
import json
import os
import random
import shutil
import signal
import time

import lab as L

DOMAIN = "example.test"
CLIENT, MX1, MX2, DNS = "198.18.0.1", "198.18.0.10", "198.18.0.11", "198.18.0.53"
MX_ADDR = {"mx1.example.test": MX1, "mx2.example.test": MX2}
MX_ORDER = ["mx1.example.test", "mx2.example.test"]
DNS_TARGET = DNS
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "noise_driver.py")


class Noise:
    """Noise parameters; the defaults are issue 10's."""

    def __init__(self, delay_ms=20.0, jitter_ms=15.0, distribution="uniform", in_order=False,
                 loss_permille=10, burst_permille=(100, 180), burst_s=(7.0, 9.0),
                 stall_s=(1.0, 2.0), bursts=5, stalls=5):
        self.delay_ms, self.jitter_ms = delay_ms, jitter_ms
        self.distribution, self.in_order = distribution, in_order
        self.loss_permille, self.burst_permille, self.burst_s = loss_permille, burst_permille, burst_s
        self.stall_s, self.bursts, self.stalls = stall_s, bursts, stalls

    def as_dict(self):
        return dict(self.__dict__)

    def schedule(self, duration, rng, margin=5.0):
        """[(start, end, kind, permille)] for one link, times from the start of the noise: the
        run cut into equal slots, one burst and one stall per slot, not overlapping."""
        events = []
        for kind, count, length in (("burst", self.bursts, self.burst_s),
                                    ("stall", self.stalls, self.stall_s)):
            if count <= 0:
                continue
            slot = (duration - 2 * margin) / count
            for i in range(count):
                for _ in range(1000):
                    d = rng.uniform(*length)
                    start = margin + i * slot + rng.uniform(0, max(0.0, slot - d))
                    if all(start + d + 1 < s or e + 1 < start for s, e, _, _ in events):
                        break
                permille = rng.randint(*self.burst_permille) if kind == "burst" else 0
                events.append((round(start, 2), round(start + d, 2), kind, permille))
        return sorted(events)


class NoiseLab(L.Lab):
    """Client, switch and three server namespaces; the noise on two of the links."""

    LINKS = ("m1", "d")  # the noisy links: the primary MX and the DNS server

    def __init__(self, prefix="mxn"):
        super().__init__()
        tag = f"{os.getpid() % 100000}"
        self.prefix = f"{prefix}{tag}"
        self.client = L.Host(f"{self.prefix}c")
        self.switch = L.Host(f"{self.prefix}w")
        self.hosts = {"m1": L.Host(f"{self.prefix}m1"), "m2": L.Host(f"{self.prefix}m2"),
                      "d": L.Host(f"{self.prefix}d")}
        self.addr = {"c": CLIENT, "m1": MX1, "m2": MX2, "d": DNS}
        self.client_if = f"{self.prefix}c"
        self.etc_netns = f"/etc/netns/{self.client.name}"
        self.delayers = {}  # link -> [ingress, egress] processes
        self.driver = None

    def namespaces(self):
        return [self.client, self.switch, *self.hosts.values()]

    def ifname(self, short):
        return f"{self.prefix}{short}"

    def up(self):
        for h in self.namespaces():
            L.run("ip", "netns", "add", h.name)
        self.up_done = True
        sw = self.switch
        bridge = f"{self.prefix}br"
        sw.run("ip", "link", "add", bridge, "type", "bridge", "stp_state", "0")
        sw.run("ip", "link", "set", bridge, "up")
        for short, host in (("c", self.client), *self.hosts.items()):
            ifname, peer = self.ifname(short), f"{self.prefix}{short}w"
            L.run("ip", "link", "add", ifname, "netns", host.name, "type", "veth", "peer", "name",
                  peer, "netns", sw.name)
            sw.run("ip", "link", "set", peer, "master", bridge)
            sw.run("ip", "link", "set", peer, "up")
            host.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            host.run("ip", "addr", "add", f"{self.addr[short]}/24", "dev", ifname)
            host.run("ip", "link", "set", "lo", "up")
            host.run("ip", "link", "set", ifname, "up")
        # The client's resolver library asks the lab's DNS server (ip netns exec bind-mounts it).
        os.makedirs(self.etc_netns, exist_ok=True)
        with open(os.path.join(self.etc_netns, "resolv.conf"), "w") as f:
            f.write(f"nameserver {DNS}\n")
        return self

    def down(self):
        super().down()
        shutil.rmtree(self.etc_netns, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(self.etc_netns))  # only when no one else uses it
        except OSError:
            pass

    # ---- servers -------------------------------------------------------------

    def start_servers(self):
        for short, a in (("m1", MX1), ("m2", MX2)):
            self.start_listener(self.hosts[short], f"{a}:25", "smtp-sink", "-u", "nobody",
                                f"{a}:25", "100")
        hosts = "".join(f"host{i} A 198.18.1.{i + 1}\nhost{i} AAAA fd00::1:{i + 1:x}\n"
                        for i in range(50))
        self.start_knot(f"""$ORIGIN {DOMAIN}.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
@ MX 10 mx1
@ MX 20 mx2
ns A {DNS}
mx1 A {MX1}
mx2 A {MX2}
{hosts}""", origin=f"{DOMAIN}.", host=self.hosts["d"], addresses=(DNS,))

    # ---- noise ---------------------------------------------------------------

    def start_noise_plumbing(self, noise, seed):
        """nft tables (empty loss/outage chains) and the delayers; nothing is lossy yet."""
        for n, link in enumerate(self.LINKS):
            host, ifname = self.hosts[link], self.ifname(link)
            q_in, q_out = 100 + 2 * n, 101 + 2 * n
            egress = ["-j", str(noise.jitter_ms), "-D", noise.distribution,
                      "-s", str(seed * 10 + n)] + (["-o"] if noise.in_order else [])
            self.delayers[link] = [self._delayer(host, q_in, 0, []),
                                   self._delayer(host, q_out, noise.delay_ms, egress)]
            # Loss and the outage first (priority -10), then the delayers: this kernel has no
            # nft `queue` expression (CONFIG_NFT_QUEUE), so the queueing is iptables' NFQUEUE
            # target (priority 0).
            host.run("nft", "-f", "-", input=f"""
table inet mxnoise {{
    counter pkts_in {{ }}
    counter pkts_out {{ }}
    counter drop_in {{ }}
    counter drop_out {{ }}
    counter rst {{ }}
    chain loss_in {{ }}
    chain loss_out {{ }}
    chain outage {{ }}
    chain input {{
        type filter hook input priority -10; policy accept;
        iifname "{ifname}" counter name "pkts_in" jump loss_in
        iifname "{ifname}" jump outage
    }}
    chain output {{
        type filter hook output priority -10; policy accept;
        oifname "{ifname}" counter name "pkts_out" jump loss_out
    }}
}}
""")
            host.run("iptables", "-A", "INPUT", "-i", ifname, "-j", "NFQUEUE", "--queue-num",
                     str(q_in))
            host.run("iptables", "-A", "OUTPUT", "-o", ifname, "-j", "NFQUEUE", "--queue-num",
                     str(q_out))

    def _delayer(self, host, queue, delay_ms, options):
        p = self.start(host, L.NFQ_DELAY, *options, str(queue), str(delay_ms),
                       ready=lambda: "ready" in self.log(self.procs[-1]))
        return p

    def set_loss(self, link, permille):
        """Both directions of link lose permille/1000 of their packets from now on."""
        rules = "".join(
            f"flush chain inet mxnoise loss_{d}\n" +
            (f"add rule inet mxnoise loss_{d} numgen random mod 1000 < {permille} "
             f"counter name \"drop_{d}\" drop\n" if permille > 0 else "")
            for d in ("in", "out"))
        self.hosts[link].run("nft", "-f", "-", input=rules)

    def set_outage(self, on):
        """The primary MX answers SYNs to port 25 with RST (on) or accepts them again."""
        rules = "flush chain inet mxnoise outage\n" + (
            "add rule inet mxnoise outage tcp dport 25 counter name \"rst\" reject with tcp reset\n"
            if on else "")
        self.hosts["m1"].run("nft", "-f", "-", input=rules)

    def stall(self, link, on):
        for p in self.delayers[link]:
            os.kill(p.pid, signal.SIGUSR1 if on else signal.SIGUSR2)

    def noise_counters(self):
        out = {}
        for link in self.LINKS:
            doc = json.loads(self.hosts[link].run("nft", "-j", "list", "counters", "table",
                                                  "inet", "mxnoise").stdout)
            out[link] = {c["counter"]["name"]: c["counter"]["packets"]
                         for c in doc["nftables"] if "counter" in c}
        return out

    def delayer_stats(self):
        """The delayers' own statistics (they print them when they stop)."""
        out = {}
        for link, procs in self.delayers.items():
            out[link] = {}
            for direction, p in zip(("in", "out"), procs):
                self.stop(p)
                stats = {}
                for line in self.log(p).splitlines():
                    if line.startswith("nfq_delay: packets"):
                        words = line.split()[1:]
                        stats = {k: float(v) for k, v in zip(words[::2], words[1::2])}
                out[link][direction] = stats
        return out

    # ---- agent and driver ----------------------------------------------------

    def write_agent_config(self, port, failback_hold=None, extra_verdicts=None):
        self.hook_out = os.path.join(self.tmp, "hook.out")
        verdicts = dict(extra_verdicts or {})
        if failback_hold is not None:
            verdicts["failback_hold"] = failback_hold
        verdict_line = ("verdicts: {" + ", ".join(f"{k}: {v}" for k, v in verdicts.items()) +
                        "}\n") if verdicts else ""
        record = (f'printf "%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$(date +%s.%N)" '
                  f'"$MXSENSE_EVENT" "$MXSENSE_DOMAIN" "$MXSENSE_TARGET" "$MXSENSE_FROM" '
                  f'"$MXSENSE_TO" "$MXSENSE_STATE" "$MXSENSE_REASON" >> {self.hook_out}')
        cfg = os.path.join(self.tmp, "agent.yaml")
        # Two hooks: one run at a time per hook, so target and domain events never wait for
        # each other; cooldown 1 s so a quick failback is not held back by the recorder.
        with open(cfg, "w") as f:
            f.write(f"""interfaces: [{self.client_if}]
listen: 127.0.0.1:{port}
state_file: {self.tmp}/state.json
dns_servers: [{DNS}]
{verdict_line}domains:
  - name: {DOMAIN}
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
hooks:
  - name: record_domain
    events: [domain_failover, domain_failback]
    argv: [/bin/sh, -c, '{record}']
    cooldown: 1
  - name: record_target
    events: [target_down, target_up]
    argv: [/bin/sh, -c, '{record}']
    cooldown: 1
""")
        return cfg

    def start_driver(self, port, smtp_rate, dns_rate):
        cfg = {"dir": self.tmp, "agent_port": port, "domain": DOMAIN, "mx_order": MX_ORDER,
               "mx_addresses": MX_ADDR, "smtp_rate": smtp_rate, "dns_rate": dns_rate,
               "connect_timeout": 30, "command_timeout": 30, "drain_s": 0,
               "dns_names": [f"host{i}.{DOMAIN}" for i in range(50)] +
                            [f"mx1.{DOMAIN}", f"mx2.{DOMAIN}"]}
        path = os.path.join(self.tmp, "driver.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.driver = self.start(self.client, "python3", DRIVER, path,
                                 ready=lambda: "ready" in self.log(self.procs[-1]))
        return self.driver

    def status_polls(self):
        return _jsonl(os.path.join(self.tmp, "status.jsonl"))

    def last_status(self):
        path = os.path.join(self.tmp, "status.jsonl")
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln]
        for line in reversed(lines):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            return rec.get("doc")
        return None

    def hook_events(self):
        out = []
        if os.path.exists(self.hook_out):
            with open(self.hook_out) as f:
                for line in f:
                    p = line.rstrip("\n").split("\t")
                    if len(p) >= 8:
                        out.append({"t": float(p[0]), "event": p[1], "domain": p[2],
                                    "target": p[3], "from": p[4], "to": p[5], "state": p[6],
                                    "reason": p[7]})
        return out


def _jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short when the driver stopped
    return out


def _states(doc):
    return {t["target"]: t["state"] for t in doc["targets"]}


def _effective(doc):
    d = next((d for d in doc["domains"] if d["domain"] == DOMAIN), None)
    return d["effective_mx"] if d else None


def _quantile(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def run_soak(lab, duration, noise=None, seed=1, outage=None, failback_hold=None, port=10090,
             smtp_rate=2.0, dns_rate=2.0, warmup_timeout=120, stop_at_failback=False,
             log=print, progress_s=60, extra_verdicts=None):
    """Bring the lab up, wait until every target is HEALTHY and mx1 effective, then run the
    noise for `duration` seconds (outage=(start, length) adds the RST outage) and return the
    summary (summarise()). The caller tears the lab down (lab.down()) in every outcome."""
    noise = noise or Noise()
    rng = random.Random(seed)
    lab.up()
    lab.start_servers()
    lab.start_noise_plumbing(noise, seed)
    cfg = lab.write_agent_config(port, failback_hold, extra_verdicts)
    agent = lab.start_agent_config(lab.client, cfg, port)
    lab.start_driver(port, smtp_rate, dns_rate)
    schedules = {link: noise.schedule(duration, rng) for link in lab.LINKS}

    def warmed_up():
        if agent.poll() is not None or lab.driver.poll() is not None:
            raise RuntimeError("agent or driver died during warm-up")
        doc = lab.last_status()  # the driver polls the agent every second
        return doc and set(_states(doc).values()) == {"HEALTHY"} and \
            _effective(doc) == MX_ORDER[0] and len(doc["targets"]) == 3

    L.until(warmed_up, warmup_timeout, f"every target HEALTHY, {MX_ORDER[0]} effective",
            interval=1, detail=lambda: f"last status: {lab.last_status()}")
    log(f"warm-up done: every target HEALTHY, effective MX {MX_ORDER[0]}; noise for "
        f"{duration:.0f} s (seed {seed})")

    m0 = L.scrape(lab.client, port)
    t0 = time.time()
    events = []  # (time from t0, action, link, arg, label)
    for link, sched in schedules.items():
        events.append((0.0, "loss", link, noise.loss_permille, "base loss"))
        for start, end, kind, permille in sched:
            if kind == "burst":
                events.append((start, "loss", link, permille, f"burst {permille / 10:.1f} %"))
                events.append((end, "loss", link, noise.loss_permille, "burst end"))
            else:
                events.append((start, "stall", link, True, "stall"))
                events.append((end, "stall", link, False, "stall end"))
    if outage:
        events.append((outage[0], "outage", "m1", True, "outage: RST"))
        events.append((outage[0] + outage[1], "outage", "m1", False, "outage end"))
    events.sort(key=lambda e: (e[0], e[1] != "loss"))
    applied = []
    t_fault = t_recover = None
    next_progress = progress_s
    i = 0
    while True:
        now = time.time() - t0
        if now >= duration:
            break
        if agent.poll() is not None:
            raise RuntimeError(f"the agent died: {lab.log(agent)[-2000:]}")
        for procs in lab.delayers.values():
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a delayer died")
        while i < len(events) and events[i][0] <= now:
            at, action, link, arg, label = events[i]
            t = time.time()
            if action == "loss":
                lab.set_loss(link, arg)
            elif action == "stall":
                lab.stall(link, arg)
            else:
                lab.set_outage(arg)
                if arg:
                    t_fault = t
                else:
                    t_recover = t
            applied.append({"t": t - t0, "planned": at, "link": link, "what": label})
            if action != "loss" or label != "base loss":
                log(f"  {t - t0:7.1f} s  {link:2}  {label}")
            i += 1
        if progress_s and now >= next_progress:
            doc = lab.last_status()
            if doc:
                log(f"  {now:7.1f} s  states {_states(doc)}  effective {_effective(doc)}")
            next_progress += progress_s
        if stop_at_failback and t_recover and any(
                e["event"] == "domain_failback" and e["t"] > t_recover for e in lab.hook_events()):
            log(f"  {now:7.1f} s  failback seen: run ends")
            break
        nxt = events[i][0] if i < len(events) else duration
        # The schedule is the scenario: sleep until the next planned event, at most 1 s so
        # that a dead agent or delayer is seen.
        time.sleep(max(0.0, min(1.0, nxt - (time.time() - t0))))
    t_end = time.time()
    m1 = L.scrape(lab.client, port)
    counters = lab.noise_counters()
    for link in lab.LINKS:  # quiet links for the teardown
        lab.set_loss(link, 0)
        lab.stall(link, False)
    lab.set_outage(False)
    lab.stop(lab.driver)
    delayers = lab.delayer_stats()
    window = float((extra_verdicts or {}).get("window", 10))
    summary = summarise(lab, t0, t_end, m0, m1, window, t_fault, t_recover)
    summary["settings"] = {"duration_s": duration, "measured_s": round(t_end - t0, 1),
                           "seed": seed, "window_s": window, "failback_hold_s": failback_hold,
                           "verdicts": "defaults" + (f", failback_hold {failback_hold}"
                                                     if failback_hold is not None else ""),
                           "smtp_sessions_per_s": smtp_rate, "dns_lookups_per_s": dns_rate,
                           "noise": noise.as_dict(), "outage": outage}
    summary["noise_applied"] = {"schedule": schedules, "events": applied, "nft": counters,
                                "delayers": delayers}
    return summary


def summarise(lab, t0, t_end, m0, m1, window, t_fault=None, t_recover=None):
    polls = [p for p in lab.status_polls() if t0 <= p["t"] <= t_end]
    ok = [p for p in polls if "doc" in p]
    targets = [t["target"] for t in ok[0]["doc"]["targets"]] if ok else []
    out = {"targets": {}, "polls": len(polls), "poll_errors": len(polls) - len(ok)}

    for name in targets:
        tr = {}
        for (n, ls), v in m1.items():
            d = dict(ls)
            if n == "mxsense_target_transitions_total" and d.get("target") == name:
                k = f"{d['from']}->{d['to']}"
                dv = v - L.value(m0, n, target=name, **{"from": d["from"], "to": d["to"]})
                if dv:
                    tr[k] = int(dv)
        seconds, seen, degraded_evidence = {}, {}, []
        prev = None
        for p in ok:
            t = next(x for x in p["doc"]["targets"] if x["target"] == name)
            if prev is not None:
                seconds[prev[1]] = seconds.get(prev[1], 0) + p["t"] - prev[0]
                if t["state"] != prev[1]:
                    k = f"{prev[1]}->{t['state']}"
                    seen[k] = seen.get(k, 0) + 1
                    if t["state"] == "DEGRADED":
                        degraded_evidence.append({"t": round(p["t"] - t0, 1), **t["window"]})
            prev = (p["t"], t["state"])
        total = sum(seconds.values()) or 1
        out["targets"][name] = {
            "transitions": tr,
            "transitions_seen_in_polls": seen,
            "degraded_transitions": sum(v for k, v in tr.items() if k.endswith("->DEGRADED")),
            "down_transitions": sum(v for k, v in tr.items() if k.endswith("->DOWN")),
            "seconds_in_state": {k: round(v, 1) for k, v in seconds.items()},
            "fraction_in_state": {k: round(v / total, 3) for k, v in seconds.items()},
            "degraded_window_evidence": degraded_evidence,
        }
    out["down_count"] = sum(t["down_transitions"] for t in out["targets"].values())

    eff_seq, prev_eff = [], object()
    eff_seconds, prev_t = {}, None
    for p in ok:
        e = _effective(p["doc"])
        if prev_t is not None:
            eff_seconds[str(prev_eff)] = eff_seconds.get(str(prev_eff), 0) + p["t"] - prev_t
        if e != prev_eff:
            eff_seq.append({"t": round(p["t"] - t0, 1), "mx": e})
        prev_eff, prev_t = e, p["t"]
    out["effective_mx"] = {"changes": max(0, len(eff_seq) - 1), "sequence": eff_seq[:200],
                           "seconds": {k: round(v, 1) for k, v in eff_seconds.items()}}

    hooks = [e for e in lab.hook_events() if t0 <= e["t"] <= t_end]
    out["failovers"] = sum(e["event"] == "domain_failover" for e in hooks)
    out["failbacks"] = sum(e["event"] == "domain_failback" for e in hooks)
    out["hook_events"] = [{**e, "t": round(e["t"] - t0, 1)} for e in hooks]
    out["hook_runs_metric"] = {
        f"{dict(ls)['hook']}/{dict(ls)['event']}/{dict(ls)['result']}":
            int(v - L.value(m0, n, **dict(ls)))
        for (n, ls), v in m1.items() if n == "mxsense_hook_runs_total"
        and v - L.value(m0, n, **dict(ls))}

    if t_fault:
        def first(pred, after):
            return next((p["t"] for p in ok if p["t"] >= after and pred(p["doc"])), None)

        o = {"fault_at_s": round(t_fault - t0, 1)}
        t_down = first(lambda d: _states(d).get(MX_ORDER[0]) == "DOWN", t_fault)
        t_fo = next((e["t"] for e in hooks if e["event"] == "domain_failover"
                     and e["t"] >= t_fault), None)
        o["fault_to_down_s"] = _since(t_down, t_fault)
        o["fault_to_failover_s"] = _since(t_fo, t_fault)
        if t_recover:
            o["recovery_at_s"] = round(t_recover - t0, 1)
            t_fb = next((e["t"] for e in hooks if e["event"] == "domain_failback"
                         and e["t"] >= t_recover), None)
            t_h = first(lambda d: _states(d).get(MX_ORDER[0]) == "HEALTHY", t_recover)
            o["recovery_to_healthy_s"] = _since(t_h, t_recover)
            o["recovery_to_failback_s"] = _since(t_fb, t_recover)
        for k in list(o):
            if k.endswith("_s") and not k.endswith("_at_s") and o[k] is not None:
                o[k.replace("_s", "_windows")] = round(o[k] / window, 2)
        out["outage"] = o

    out["client"] = client_figures(lab, t0, t_end, window)
    return out


def _since(t, t_ref):
    return None if t is None else round(t - t_ref, 1)


def client_figures(lab, t0, t_end, window):
    """What the client itself saw: the independent record of the traffic and its noise."""
    smtp = [r for r in _jsonl(os.path.join(lab.tmp, "smtp.jsonl")) if t0 <= r["t"] <= t_end]
    first = {}
    connects, slow_windows = [], set()
    ok = fallback = 0
    for r in smtp:
        mx = r["tried"][0]["mx"] if r["tried"] else "?"
        first[mx] = first.get(mx, 0) + 1
        fallback += len(r["tried"]) > 1
        last = r["tried"][-1] if r["tried"] else {}
        ok += bool(last.get("ok"))
        for a in r["tried"]:
            if a["mx"] == MX_ORDER[0] and "connect_error" not in a:
                connects.append(a["connect_s"])
                if a["connect_s"] >= 0.9:
                    slow_windows.add(int((r["t"] - t0) // window))
    dns = [r for r in _jsonl(os.path.join(lab.tmp, "dns.jsonl")) if t0 <= r["t"] <= t_end]
    secs = [r["seconds"] for r in dns]
    results = {}
    for r in dns:
        results[r["result"]] = results.get(r["result"], 0) + 1

    def ms(v):
        return None if v is None else round(v * 1000, 1)

    return {
        "smtp": {"sessions": len(smtp), "delivered": ok, "first_tried": first,
                 "fell_back_to_next_mx": fallback,
                 "mx1_connects": len(connects),
                 "mx1_connect_ms_p50": ms(_quantile(connects, 0.5)),
                 "mx1_connect_ms_p99": ms(_quantile(connects, 0.99)),
                 "mx1_connect_ms_max": ms(max(connects) if connects else None),
                 "mx1_connects_over_0.9s": sum(c >= 0.9 for c in connects),
                 "windows_with_a_slow_mx1_connect": len(slow_windows)},
        "dns": {"lookups": len(dns), "results": results,
                "ms_p50": ms(_quantile(secs, 0.5)), "ms_p99": ms(_quantile(secs, 0.99)),
                "ms_max": ms(max(secs) if secs else None),
                "over_1s": sum(s >= 1 for s in secs)},
    }


def table(s):
    """A short human summary of run_soak()'s result."""
    st = s["settings"]
    lines = [f"soak: {st['measured_s']:.0f} s measured, window {st['window_s']:.0f} s, "
             f"verdicts {st['verdicts']}, seed {st['seed']}",
             f"{'target':<20} {'DEGRADED':>8} {'DOWN':>5} {'HEALTHY%':>9} {'DEGRADED%':>10} "
             f"{'DOWN%':>6}  transitions"]
    for name, t in s["targets"].items():
        f = t["fraction_in_state"]
        lines.append(f"{name:<20} {t['degraded_transitions']:>8} {t['down_transitions']:>5} "
                     f"{100 * f.get('HEALTHY', 0):>8.1f}% {100 * f.get('DEGRADED', 0):>9.1f}% "
                     f"{100 * f.get('DOWN', 0):>5.1f}%  "
                     + ", ".join(f"{k} {v}" for k, v in sorted(t["transitions"].items())))
    e = s["effective_mx"]
    lines.append(f"effective MX changes {e['changes']}  (seconds per MX: {e['seconds']})")
    lines.append(f"DOWN {s['down_count']}  failovers {s['failovers']}  failbacks {s['failbacks']}")
    if "outage" in s:
        o = s["outage"]
        lines.append("outage: " + ", ".join(
            f"{k} {v}" for k, v in o.items() if not k.endswith("_windows")))
        lines.append("        in windows: " + ", ".join(
            f"{k} {v}" for k, v in o.items() if k.endswith("_windows")))
    c = s["client"]
    lines.append(f"client SMTP: {c['smtp']['sessions']} sessions, {c['smtp']['delivered']} "
                 f"delivered, mx1 connect p50 {c['smtp']['mx1_connect_ms_p50']} ms p99 "
                 f"{c['smtp']['mx1_connect_ms_p99']} ms max {c['smtp']['mx1_connect_ms_max']} ms, "
                 f"{c['smtp']['mx1_connects_over_0.9s']} connects >= 0.9 s in "
                 f"{c['smtp']['windows_with_a_slow_mx1_connect']} windows")
    lines.append(f"client DNS: {c['dns']['lookups']} lookups {c['dns']['results']}, p50 "
                 f"{c['dns']['ms_p50']} ms p99 {c['dns']['ms_p99']} ms, "
                 f"{c['dns']['over_1s']} over 1 s")
    for link, cnt in s["noise_applied"]["nft"].items():
        dl = s["noise_applied"]["delayers"].get(link, {})
        lines.append(
            f"noise {link}: in {cnt.get('drop_in', 0)}/{cnt.get('pkts_in', 0)} dropped, out "
            f"{cnt.get('drop_out', 0)}/{cnt.get('pkts_out', 0)} dropped, RST {cnt.get('rst', 0)}; "
            f"delayed {dl.get('out', {}).get('packets', 0):.0f} (reordered "
            f"{dl.get('out', {}).get('reordered', 0):.0f}), stalls "
            f"{dl.get('out', {}).get('stalls', 0):.0f} holding "
            f"{dl.get('in', {}).get('held_in_stall', 0) + dl.get('out', {}).get('held_in_stall', 0):.0f}")
    return "\n".join(lines)
