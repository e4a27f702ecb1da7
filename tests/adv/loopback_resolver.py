"""E: a new user's host whose resolv.conf names a local stub (127.0.0.1 here; 127.0.0.53 on
systemd-resolved hosts). Default config apart from listen/interface and one static domain."""
import os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
import advlab as A
L = A.L
PORT = 10135
MX1 = "198.18.0.10"
lab = A.AdvLab("e").up()
try:
    srv, cli = lab.server, lab.client
    srv.run("ip", "addr", "add", f"{MX1}/24", "dev", lab.server_if)
    lab.start_listener(srv, f"{MX1}:25", "smtp-sink", "-u", "nobody", f"{MX1}:25", "100")
    d = os.path.join(lab.tmp, "knot"); os.makedirs(d)
    open(os.path.join(d, "example.test.zone"), "w").write(f"$ORIGIN example.test.\n$TTL 300\n@ SOA ns1 h 1 60 60 3600 300\n@ NS ns1\nns1 A 127.0.0.1\n@ MX 10 mx1\nmx1 A {MX1}\n")
    open(os.path.join(d, "knot.conf"), "w").write(f'server:\n    rundir: "{d}"\n    listen: [ 127.0.0.1@53 ]\ndatabase:\n    storage: "{d}/db"\ntemplate:\n  - id: default\n    storage: "{d}"\n    file: "%s.zone"\nzone:\n  - domain: example.test.\n')
    lab.start(cli, "knotd", "-c", os.path.join(d, "knot.conf"),
              ready=lambda: "NOERROR" in cli.run("kdig", "+time=1", "+retry=0", "@127.0.0.1", "example.test", "SOA", check=False).stdout)
    lab.resolv_conf(lab.client, "127.0.0.1")
    cfg = os.path.join(lab.tmp, "agent.yaml")
    open(cfg, "w").write(f"interfaces: [{lab.client_if}]\nlisten: 127.0.0.1:{PORT}\nstate_file: \"\"\ndomains:\n  - name: example.test\n    mx: [{{host: mx1.example.test, addresses: [{MX1}]}}]\n")
    t0 = time.time()
    agent = lab.start_agent_config(cli, cfg, PORT)
    time.sleep(45)
    print(A.brief(A.status(lab, PORT)))
    m = L.scrape(cli, PORT)
    print([(dict(ls), v) for (n, ls), v in m.items() if n == "mxsense_probe_runs_total"])
    print(lab.log(agent)[-1500:])
finally:
    lab.down()
