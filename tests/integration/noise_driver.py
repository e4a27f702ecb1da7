"""Traffic and observation inside the soak's client namespace (run by noise_lab.NoiseLab).

    python3 noise_driver.py CONFIG.json

Three jobs, each a thread, until SIGTERM:
- every second, GET the agent's /api/v1/status and append it, time-stamped, to status.jsonl;
- SMTP sessions at `smtp_rate` per second, each a complete mail transaction (EHLO, MAIL, RCPT,
  DATA, QUIT) to the domain's effective MX as the agent names it (the primary while it names
  none); like a sending MTA (RFC 5321 §5.1) a session that cannot connect tries the next MX
  in preference order. One line per session in smtp.jsonl, with the connect time as this
  client measured it;
- DNS lookups at `dns_rate` per second through glibc's getaddrinfo() (AF_UNSPEC: the stub
  resolver of this host's C library sends A and AAAA in parallel, waits `timeout:` 5 s,
  tries twice), i.e. exactly what an MTA's lookups do, answered by the server in the
  namespace's /etc/netns resolv.conf. One line per lookup in dns.jsonl.

Each session and lookup runs in its own thread, so a slow one never lowers the rate.
Standard library only.
"""
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

cfg = json.load(open(sys.argv[1]))
stop = threading.Event()
lock = threading.Lock()
latest = {"effective_mx": None}
files = {name: open(os.path.join(cfg["dir"], f"{name}.jsonl"), "a", buffering=1)
         for name in ("status", "smtp", "dns")}


def emit(name, record):
    with lock:
        if not files[name].closed:  # a session still running at the end is not recorded
            files[name].write(json.dumps(record) + "\n")


def poll_status():
    port = cfg["agent_port"]
    next_t = time.time()
    while not stop.is_set():
        t = time.time()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/status")
            doc = json.loads(c.getresponse().read())
            c.close()
            dom = next((d for d in doc["domains"] if d["domain"] == cfg["domain"]), None)
            latest["effective_mx"] = dom["effective_mx"] if dom else None
            emit("status", {"t": t, "doc": doc})
        except (OSError, ValueError, http.client.HTTPException) as e:
            emit("status", {"t": t, "error": str(e)})
        next_t += 1.0
        stop.wait(max(0.0, next_t - time.time()))


def reply(f):
    """One SMTP reply (RFC 5321 §4.2, multi-line too): its code."""
    while True:
        line = f.readline(1024)
        if not line:
            raise OSError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def session(order):
    rec = {"t": time.time(), "tried": []}
    for name in order:
        addr = cfg["mx_addresses"][name]
        t0 = time.time()
        try:
            s = socket.create_connection((addr, 25), timeout=cfg["connect_timeout"])
        except OSError as e:
            rec["tried"].append({"mx": name, "connect_s": time.time() - t0,
                                 "connect_error": type(e).__name__})
            continue
        attempt = {"mx": name, "connect_s": time.time() - t0}
        rec["tried"].append(attempt)
        try:
            s.settimeout(cfg["command_timeout"])
            f = s.makefile("rb")
            codes = [reply(f)]
            for cmd in (b"EHLO client.example.test", b"MAIL FROM:<soak@client.example.test>",
                        b"RCPT TO:<postmaster@example.test>", b"DATA"):
                s.sendall(cmd + b"\r\n")
                codes.append(reply(f))
            s.sendall(b"Subject: soak\r\n\r\nnoise is not degradation\r\n.\r\n")
            codes.append(reply(f))
            s.sendall(b"QUIT\r\n")
            codes.append(reply(f))
            attempt["codes"] = codes
            attempt["ok"] = codes == [220, 250, 250, 250, 354, 250, 221]
        except (OSError, ValueError) as e:
            attempt["error"] = type(e).__name__
        finally:
            s.close()
        attempt["total_s"] = time.time() - t0
        break  # connected: a sending MTA does not try the next MX after that
    emit("smtp", rec)


def lookup(name):
    t0 = time.time()
    rec = {"t": t0, "name": name}
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
        rec["result"] = "ok"
        rec["addresses"] = len(infos)
    except socket.gaierror as e:
        rec["result"] = f"gaierror {e.errno}"
    rec["seconds"] = time.time() - t0
    emit("dns", rec)


in_flight = set()  # the session and lookup threads still running


def spawn(target, *args):
    """Run target(*args) in a daemon thread of its own, in in_flight while it runs."""
    def run():
        try:
            target(*args)
        finally:
            with lock:
                in_flight.discard(threading.current_thread())

    th = threading.Thread(target=run, daemon=True)
    with lock:
        in_flight.add(th)
    th.start()


def paced(rate, start):
    """Call start(i) rate times per second, on a fixed schedule."""
    i, next_t = 0, time.time()
    while not stop.is_set():
        start(i)
        i += 1
        next_t += 1.0 / rate
        stop.wait(max(0.0, next_t - time.time()))


def smtp_loop():
    mx = cfg["mx_order"]

    def start(_):
        first = latest["effective_mx"] or mx[0]
        order = [first] + [m for m in mx if m != first]
        spawn(session, order)

    paced(cfg["smtp_rate"], start)


def dns_loop():
    names = cfg["dns_names"]
    paced(cfg["dns_rate"], lambda i: spawn(lookup, names[i % len(names)]))


signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
threads = [threading.Thread(target=poll_status)]
if cfg["smtp_rate"] > 0:
    threads.append(threading.Thread(target=smtp_loop))
if cfg["dns_rate"] > 0:
    threads.append(threading.Thread(target=dns_loop))
for th in threads:
    th.start()
print("ready", flush=True)
while not stop.is_set():
    stop.wait(1)
for th in threads:
    th.join()
# Sessions and lookups in flight finish, or are cut off after drain_s.
deadline = time.time() + cfg.get("drain_s", 0)
with lock:
    pending = list(in_flight)
for th in pending:
    th.join(max(0.0, deadline - time.time()))
with lock:
    for f in files.values():
        f.close()
