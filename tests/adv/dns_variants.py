"""D: resolvers judged with default probes/verdicts:
RES1 healthy, but one of the two configured domains is broken on the Internet (its name servers are
unreachable: the resolver correctly answers SERVFAIL); RES2 drops TCP (no RST: timeouts); RES3
drops UDP only. Expected: RES1 HEALTHY (a broken remote zone is not the resolver's fault), RES2
DEGRADED naming tcp timeouts, RES3 DEGRADED naming udp."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import advlab as A
L = A.L
PORT = 10134
RES1, RES2, RES3, MX1 = "198.18.0.53", "198.18.0.54", "198.18.0.55", "198.18.0.10"
ZONE = f"""$ORIGIN example.test.
$TTL 300
@ SOA ns1 hostmaster 1 60 60 3600 300
@ NS ns1
ns1 A 198.18.0.2
@ MX 10 mx1
mx1 A {MX1}
"""
lab = A.AdvLab("d").up()
try:
    srv, cli = lab.server, lab.client
    for a in (RES1, RES2, RES3, MX1):
        srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
    lab.start_knot(ZONE)
    for r in (RES1, RES2, RES3):
        lab.start_bind_resolver(r, "example.test", [lab.SERVER4])
    lab.start_listener(srv, f"{MX1}:25", "smtp-sink", "-u", "nobody", f"{MX1}:25", "100")
    srv.run("nft", "add", "table", "inet", "advt")
    srv.run("nft", "add", "chain", "inet", "advt", "in", "{ type filter hook input priority 0; }")
    srv.run("nft", "add", "rule", "inet", "advt", "in", "ip", "daddr", RES2, "tcp", "dport", "53", "drop")
    srv.run("nft", "add", "rule", "inet", "advt", "in", "ip", "daddr", RES3, "udp", "dport", "53", "drop")
    print("broken.test via RES1:", cli.run("dig", "+time=4", "+tries=1", f"@{RES1}", "broken.test", "MX", check=False).stdout.count("SERVFAIL"), "SERVFAIL")
    cfg = os.path.join(lab.tmp, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: ""
dns_servers: [{RES1}, {RES2}, {RES3}]
domains:
  - name: example.test
    mx: [{{host: mx1.example.test, addresses: [{MX1}]}}]
  - name: broken.test
    mx: [{{host: mx1.example.test, addresses: [{MX1}]}}]
""")
    t0 = time.time()
    agent = lab.start_agent_config(cli, cfg, PORT)
    last = None
    while time.time() - t0 < 130:
        s = A.status(lab, PORT)
        if s:
            b = "\n".join(f'{t["target"]}:{t["state"]}:{t.get("reason","")} | win: {t.get("window_reason","")}' for t in s["targets"])
            if b != last:
                print(f"--- t+{time.time()-t0:.0f}s\n{b}"); last = b
        time.sleep(1)
    m = L.scrape(cli, PORT)
    for (n, ls), v in sorted(m.items()):
        if n == "mxsense_probe_runs_total" and v: print(n, dict(ls), v)
    print("transitions:", [(x.get("target"), x.get("from"), x.get("to"), x.get("reason")) for x in s.get("recent_transitions", [])])
    r = cli.run(L.MXSENSE, "status", "--agent", f"127.0.0.1:{PORT}", check=False)
    print("mxsense status:\n" + r.stdout + r.stderr)
finally:
    lab.down()
