"""The shipped dashboards as Grafana's "Export for sharing externally" makes them, and the
shipped rules free of a `job`: every dashboard asks for its Prometheus as the input
DS_PROMETHEUS (`__inputs`) and names what it needs (`__requires`: Grafana, the Prometheus data
source, each panel type it uses); every data source reference is ${DS_PROMETHEUS}; table panels
query instant vectors in table format; every query parses (promtool check rules on a rules file
made of them: promtool has no PromQL-only check); no query or rule selects a job (the
operator's job name is theirs)."""
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
RULES = sorted(glob.glob(os.path.join(ROOT, "prometheus", "*.rules.yml")))
PROMTOOL = os.environ.get("PROMTOOL", "promtool")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# Grafana's variables, as a query would see them expanded.
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
JOB_MATCHER = re.compile(r"\bjob\s*(=~|!~|!=|=)")


def walk(node, path="$"):
    """Every (path, dict) in a JSON document."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])  # a collapsed row holds its panels


def queries(dash):
    """(where, PromQL) of every panel target, annotation and query variable."""
    for p in panels(dash):
        for t in p.get("targets", []):
            yield f"panel '{p['title']}' {t.get('refId')}", t["expr"]
    for a in dash.get("annotations", {}).get("list", []):
        if "expr" in a:
            yield f"annotation '{a['name']}'", a["expr"]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*\w+\)", q)
            yield f"variable {v['name']}", m.group(1) if m else q


def expand(expr, dash):
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    for v in dash["templating"]["list"]:
        if v["type"] != "datasource":
            expr = re.sub(r"\$\{?" + re.escape(v["name"]) + r"\b\}?", ".*", expr)
    return expr


class Dashboards(unittest.TestCase):
    def test_there_are_dashboards(self):
        self.assertTrue(DASHBOARDS)

    def test_inputs_and_requires_as_an_export_for_sharing(self):
        for path in DASHBOARDS:
            with self.subTest(dashboard=os.path.basename(path)):
                with open(path) as f:
                    dash = json.load(f)
                self.assertEqual([(i["name"], i["type"], i["pluginId"]) for i in dash["__inputs"]],
                                 [("DS_PROMETHEUS", "datasource", "prometheus")])
                req = {(r["type"], r["id"]) for r in dash["__requires"]}
                self.assertIn(("grafana", "grafana"), req)
                self.assertIn(("datasource", "prometheus"), req)
                used = {p["type"] for p in panels(dash) if p["type"] != "row"}
                self.assertEqual({i for t, i in req if t == "panel"}, used)
                # The variable has the input's name: provisioned (no import, no inputs),
                # ${DS_PROMETHEUS} is the variable, the default Prometheus.
                ds_vars = [v for v in dash["templating"]["list"] if v["type"] == "datasource"]
                self.assertEqual([(v["name"], v["query"]) for v in ds_vars],
                                 [("DS_PROMETHEUS", "prometheus")])

    def test_every_data_source_is_the_input(self):
        for path in DASHBOARDS:
            with open(path) as f:
                dash = json.load(f)
            refs = [(where, node["datasource"]) for where, node in walk(dash)
                    if "datasource" in node and where != "$"]
            self.assertGreater(len(refs), 10)
            for where, ds in refs:
                self.assertEqual(ds, DS, f"{os.path.basename(path)} {where}")

    def test_tables_are_instant_tables(self):
        for path in DASHBOARDS:
            with open(path) as f:
                dash = json.load(f)
            tables = [p for p in panels(dash) if p["type"] == "table"]
            self.assertTrue(tables)
            for p in panels(dash):
                for t in p.get("targets", []):
                    shape = (t.get("format"), t.get("instant", False))
                    if p["type"] == "table":
                        self.assertEqual(shape, ("table", True), p["title"])
                    else:  # a graph of one instant, or a table squeezed into a graph
                        self.assertNotEqual(shape[0], "table", p["title"])
                        self.assertFalse(shape[1], p["title"])

    def test_every_query_parses_and_selects_no_job(self):
        for path in DASHBOARDS:
            with open(path) as f:
                dash = json.load(f)
            qs = list(queries(dash))
            self.assertGreater(len(qs), 25)
            rules = []
            for i, (where, expr) in enumerate(qs):
                self.assertIsNone(JOB_MATCHER.search(expr), f"{where}: {expr}")
                rules.append({"record": f"dashboard:query_{i}", "expr": expand(expr, dash),
                              "labels": {"where": where}})
            with tempfile.TemporaryDirectory() as d:
                rf = os.path.join(d, "queries.rules.yml")
                with open(rf, "w") as f:  # JSON is YAML
                    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
                r = subprocess.run([PROMTOOL, "check", "rules", rf], capture_output=True,
                                   text=True)
            self.assertEqual(r.returncode, 0, f"{os.path.basename(path)}:\n{r.stdout}{r.stderr}")
            self.assertIn(f"SUCCESS: {len(rules)} rules found", r.stdout)

    def test_rules_select_no_job(self):
        self.assertTrue(RULES)
        for path in RULES:
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    if line.lstrip().startswith("#"):
                        continue
                    self.assertIsNone(JOB_MATCHER.search(line),
                                      f"{os.path.basename(path)}:{n}: {line.strip()}")


if __name__ == "__main__":
    unittest.main()
