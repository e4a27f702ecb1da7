"""A: forged packets against SMTP evidence (off-path attacker who knows/guesses the 4-tuple).
A1 RST with a wrong ACK to a SYN in flight; A2 a '421' segment with an out-of-window sequence
number before the real greeting. The client's kernel ignores both; does the sensor?"""
import os, socket, sys, time, textwrap
sys.path.insert(0, os.path.dirname(__file__))
import advlab as A
L = A.L
PORT = 10131
MX1, MX2 = "198.18.0.10", "198.18.0.11"
PY = "/usr/bin/python3"

SLOW_SERVER = textwrap.dedent("""
import socket, sys, time, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 25)); s.listen(16)
def h(c):
    time.sleep(4); c.sendall(b"220 slow ok\\r\\n")
    try:
        c.settimeout(5); c.recv(100); c.sendall(b"221 bye\\r\\n")
    except OSError: pass
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=h, args=(c,), daemon=True).start()
""")

FORGE = textwrap.dedent("""
import sys
from scapy.all import IP, TCP, Raw, send
kind, src, dst, dport = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
v = int(sys.argv[5]); PFX = b"x\\r\\n" if len(sys.argv) > 6 else b""
if kind == "rst":
    p = [TCP(sport=25, dport=dport, flags="RA", seq=0, ack=123456789),
         TCP(sport=25, dport=dport, flags="R", seq=777)][v]
    send(IP(src=src, dst=dst)/p, verbose=0)
elif kind == "greet":
    seq = (1000, 2**31 + 5, 3999999999)[v]
    send(IP(src=src, dst=dst)/TCP(sport=25, dport=dport, flags="PA", seq=seq, ack=1)/Raw(PFX + b"421 forged go away\\r\\n"), verbose=0)
""")

lab = A.AdvLab("a").up()
try:
    srv, cli = lab.server, lab.client
    for a in (MX1, MX2):
        srv.run("ip", "addr", "add", f"{a}/24", "dev", lab.server_if)
    for name, text in (("slow.py", SLOW_SERVER), ("forge.py", FORGE)):
        with open(os.path.join(lab.tmp, name), "w") as f:
            f.write(text)
    lab.start_listener(srv, f"{MX1}:25", "smtp-sink", "-u", "nobody", f"{MX1}:25", "100")
    lab.start_listener(srv, f"{MX2}:25", PY, os.path.join(lab.tmp, "slow.py"), MX2)
    cfg = os.path.join(lab.tmp, "agent.yaml")
    with open(cfg, "w") as f:
        f.write(f"""interfaces: [{lab.client_if}]
listen: 127.0.0.1:{PORT}
state_file: ""
dns_servers: [198.18.0.2]
probes: {{enabled: false}}
domains:
  - name: example.test
    mx:
      - {{host: mx1.example.test, addresses: [{MX1}]}}
      - {{host: mx2.example.test, addresses: [{MX2}]}}
""")
    agent = lab.start_agent_config(cli, cfg, PORT)
    srv.run("nft", "add", "table", "inet", "advt")
    srv.run("nft", "add", "chain", "inet", "advt", "in", "{ type filter hook input priority 0; }")
    def show(m0, m1, tag):
        for (n, ls), v in sorted(m1.items()):
            if n.startswith(("mxsense_smtp_connections", "mxsense_smtp_greetings", "mxsense_smtp_replies", "mxsense_smtp_connect_retrans", "mxsense_sensor_parse_errors", "mxsense_smtp_closed")) and not n.endswith("_bucket"):
                d = v - m0.get((n, ls), 0)
                if d: print("  ", tag, n, dict(ls), d)
    for v, port in (((0, 40011), (1, 40012)) if len(sys.argv) == 1 else ()):
        m0 = L.scrape(cli, PORT)
        srv.run("nft", "add", "rule", "inet", "advt", "in", "tcp", "dport", "25", "ip", "daddr", MX1, "drop")
        conn = cli.popen(PY, "-c", f"""
import socket, time
s = socket.socket(); s.bind(("198.18.0.1", {port})); s.settimeout(8)
t = time.time()
try:
    s.connect(("{MX1}", 25)); print("connected", round(time.time()-t, 2), s.recv(100)); s.sendall(b"QUIT\\r\\n"); s.recv(100)
except OSError as e: print("error", e)
""")
        time.sleep(0.5)
        srv.run(PY, os.path.join(lab.tmp, "forge.py"), "rst", MX1, lab.CLIENT4, str(port), str(v))
        time.sleep(0.5)
        srv.run("nft", "flush", "chain", "inet", "advt", "in")
        print(f"A1.{v} client:", conn.communicate(timeout=15)[0].strip())
        time.sleep(1.5); show(m0, L.scrape(cli, PORT), f"A1.{v}")
    for v, port in ((0, 40031), (1, 40032), (2, 40033)) if len(sys.argv) > 1 else ((0, 40021), (1, 40022), (2, 40023), (-1, 40024)):
        m0 = L.scrape(cli, PORT)
        conn = cli.popen(PY, "-c", f"""
import socket, time
s = socket.socket(); s.bind(("198.18.0.1", {port})); s.settimeout(8)
s.connect(("{MX2}", 25)); print("greeting", s.recv(100)); s.sendall(b"QUIT\\r\\n"); print(s.recv(100))
""")
        time.sleep(1)
        if v >= 0:
            srv.run(PY, os.path.join(lab.tmp, "forge.py"), "greet", MX2, lab.CLIENT4, str(port), str(v), *sys.argv[1:2])
        print(f"A2.{v} client:", conn.communicate(timeout=15)[0].strip().replace("\n", " "))
        time.sleep(1.5); show(m0, L.scrape(cli, PORT), f"A2.{v}")
finally:
    lab.down()
