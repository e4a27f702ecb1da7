"""B: the mail host is itself the primary MX (it judges its own address). Anyone on the Internet
connects to a closed SMTP port of it (587) or asks its DNS server for a zone it does not serve.
Do these role=server outcomes become evidence against the target (false DOWN, failover)?"""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import advlab as A
L = A.L
PORT = 10132
SELF, MX2 = "198.18.0.1", "198.18.0.10"
PY = "/usr/bin/python3"
ZONE = f"""$ORIGIN example.test.
$TTL 300
@ SOA ns1 hostmaster 1 60 60 3600 300
@ NS ns1
ns1 A {SELF}
@ MX 10 mx1
@ MX 20 mx2
mx1 A {SELF}
mx2 A {MX2}
"""

lab = A.AdvLab("b").up()
try:
    srv, cli = lab.server, lab.client
    srv.run("ip", "addr", "add", f"{MX2}/24", "dev", lab.server_if)
    lab.start_listener(srv, f"{MX2}:25", "smtp-sink", "-u", "nobody", f"{MX2}:25", "100")
    lab.start_listener(cli, f"{SELF}:25", "smtp-sink", "-u", "nobody", f"{SELF}:25", "100")
    # knot on the mail host itself (its own DNS), in the client namespace
    d = os.path.join(lab.tmp, "knot"); os.makedirs(d)
    open(os.path.join(d, "example.test.zone"), "w").write(ZONE)
    open(os.path.join(d, "knot.conf"), "w").write(f"""server:
    rundir: "{d}"
    listen: [ {SELF}@53 ]
database:
    storage: "{d}/db"
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
zone:
  - domain: example.test.
""")
    lab.start(cli, "knotd", "-c", os.path.join(d, "knot.conf"),
              ready=lambda: "NOERROR" in srv.run("kdig", "+time=1", "+retry=0", f"@{SELF}", "example.test", "SOA", check=False).stdout)
    hook_out = os.path.join(lab.tmp, "hook.out")
    cfg = os.path.join(lab.tmp, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: ""
dns_servers: [{SELF}]
verdicts: {{window: 2, rise: 2, fall: 2, hold_down: 0, failback_hold: 10}}
probes: {{interval: 2, timeout: 1}}
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{SELF}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
hooks:
  - name: record
    events: [domain_failover, domain_failback, target_down]
    argv: [/bin/sh, -c, 'env | grep ^MXSENSE_ | sort >> {hook_out}; echo --- >> {hook_out}']
    cooldown: 0
""")
    agent = lab.start_agent_config(cli, cfg, PORT)
    end = time.time() + 40
    while time.time() < end:
        s = A.status(lab, PORT)
        if s and s["targets"] and all(t["state"] == "HEALTHY" for t in s["targets"]):
            break
        time.sleep(1)
    print("before:\n" + A.brief(A.status(lab, PORT)))
    # The attacker: 20 s of connections to port 587 (closed: RST) and queries for a zone the
    # host's DNS server does not serve (REFUSED), ~10/s each, from the server namespace.
    att = srv.popen(PY, "-c", f"""
import socket, time, random
end = time.time() + 20
while time.time() < end:
    s = socket.socket(); s.settimeout(0.5)
    try: s.connect(("{SELF}", 587))
    except OSError: pass
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.2)
    q = random.randbytes(2) + bytes.fromhex("010000010000000000000769")[0:10] + b"\\x07invalid\\x00\\x00\\x01\\x00\\x01"
    q = random.randbytes(2) + bytes.fromhex("0100 0001 0000 0000 0000") + b"\\x07invalid\\x00\\x00\\x01\\x00\\x01"
    u.sendto(q, ("{SELF}", 53))
    try: u.recv(512)
    except OSError: pass
    u.close()
    time.sleep(0.1)
""")
    for i in range(12):
        time.sleep(2.5)
        s = A.status(lab, PORT)
        print(f"t+{(i+1)*2.5:.0f}s\n" + A.brief(s))
    att.wait(timeout=30)
    m = L.scrape(cli, PORT)
    for (n, ls), v in sorted(m.items()):
        if (n in ("mxsense_smtp_connections_total", "mxsense_dns_responses_total")) and v:
            print(n, dict(ls), v)
    if os.path.exists(hook_out):
        print("HOOKS:\n" + open(hook_out).read())
    print(lab.log(agent)[-3000:])
finally:
    lab.down()
