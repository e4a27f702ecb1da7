"""C: the sensor host's own outbound SMTP stops (a local firewall change / provider blocks port 25).
Both MX hosts are equally unreachable from here, they are fine for the world. Mail goes to the
primary (traffic), the backup is idle (probed). Default verdict and probe settings.
README: failover only away from a DOWN primary to the first HEALTHY backup. Does it fail over?"""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import advlab as A
L = A.L
PORT = 10133
MX1, MX2 = "198.18.0.10", "198.18.0.11"
MODE = sys.argv[1] if len(sys.argv) > 1 else "drop"   # drop | reject
ZONE = """$ORIGIN example.test.
$TTL 300
@ SOA ns1 hostmaster 1 60 60 3600 300
@ NS ns1
ns1 A 198.18.0.2
@ MX 10 mx1
"""
lab = A.AdvLab("c").up()
try:
    srv, cli = lab.server, lab.client
    for a in (MX1, MX2):
        srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
        lab.start_listener(srv, f"{a}:25", "smtp-sink", "-u", "nobody", f"{a}:25", "100")
    lab.start_knot(ZONE)
    hook_out = os.path.join(lab.tmp, "hook.out")
    cfg = os.path.join(lab.tmp, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: ""
dns_servers: [198.18.0.2]
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
hooks:
  - name: record
    events: [domain_failover, domain_failback]
    argv: [/bin/sh, -c, 'env | grep ^MXSENSE_ | sort >> {hook_out}; echo --- >> {hook_out}']
""")
    t0 = time.time()
    agent = lab.start_agent_config(cli, cfg, PORT)
    mta = lab.start_smtp_load(cli, MX1, 200, interval=0.5)   # the MTA's mail, to the primary
    while time.time() - t0 < 90:
        s = A.status(lab, PORT)
        if s and len(s["targets"]) == 3 and all(t["state"] == "HEALTHY" for t in s["targets"]):
            break
        time.sleep(1)
    print(f"HEALTHY after {time.time()-t0:.0f}s:\n" + A.brief(A.status(lab, PORT)))
    rule = ["drop"] if MODE in ("drop", "remote") else ["reject", "with", "tcp", "reset"]
    h = srv if MODE == "remote" else cli
    hook = "input" if MODE == "remote" else "output"
    h.run("nft", "add", "table", "inet", "advt")
    h.run("nft", "add", "chain", "inet", "advt", "out", "{ type filter hook %s priority 0; }" % hook)
    h.run("nft", "add", "rule", "inet", "advt", "out", "tcp", "dport", "25", *rule)
    tf = time.time()
    print(f"egress port 25 {MODE} at t={tf-t0:.0f}s")
    last = None
    while time.time() - tf < float(os.environ.get('ADV_OBS', '80')):
        s = A.status(lab, PORT)
        b = "\n".join(f'{t["target"]}:{t["state"]}:{t.get("reason","")}' for t in s["targets"]) + \
            "\n" + str([(d.get("effective_mx"), d.get("failover_active", d.get("failed_over"))) for d in s.get("domains", [])])
        if b != last:
            print(f"--- t+{time.time()-tf:.0f}s\n{b}")
            last = b
        time.sleep(1)
    print("HOOKS:\n" + (open(hook_out).read() if os.path.exists(hook_out) else "(none)"))
    print("transitions:", [(x.get("target"), x.get("from"), x.get("to"), round(x.get("time", 0)) if isinstance(x.get("time"), (int, float)) else x.get("time")) for x in s.get("recent_transitions", [])])
finally:
    lab.down()
