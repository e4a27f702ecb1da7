"""Adversarial review lab: lab.py's Lab with namespaces/veths named adv*."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../integration"))
import lab as L


class AdvLab(L.Lab):
    def __init__(self, tag="a"):
        super().__init__()
        self.client = L.Host(f"adv{tag}c")
        self.server = L.Host(f"adv{tag}s")
        self.client_if = f"adv{tag}c0"
        self.server_if = f"adv{tag}s0"


def status(lab, port):
    r = lab.client.run("curl", "-sf", f"http://127.0.0.1:{port}/api/v1/status", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def brief(s):
    out = []
    for t in s["targets"]:
        out.append(f'{t["target"]:20} {t["state"]:9} {t.get("reason","")!r} win={t.get("window_reason","")!r}')
    for d in s.get("domains", []):
        out.append(f'domain {json.dumps(d)[:300]}')
    return "\n".join(out)
