#!/usr/bin/python3
"""Check config/dashboard.json the way Grafana's import needs it, and print its queries expanded.

    /usr/bin/python3 dashboard_queries.py config/dashboard.json \
        --var job=backlogd --var 'instance=127\\.0\\.0\\.1:24519' --var netns=host --var port=8080

Checks: title, uid, schemaVersion; __inputs declares the Prometheus datasource input and
__requires names Grafana, the Prometheus datasource and every panel type used; every panel
(rows and the panels of collapsed rows included) has a unique integer id, a type, a title and a
gridPos with integer x/y/w/h inside the 24-column grid, and no two panels overlap; every panel
that queries has a description and a non-empty list of targets, each with a refId (unique in its
panel), an expr and a legendFormat; every datasource reference (panels, targets, variables)
names an input declared in __inputs; every backlogd_* selector filters job=~"$job" and
instance=~"$instance"; every $var in an expr or a variable query is a templating variable (or
one of Grafana's $__rate_interval, $__interval, $__range) and stands inside a quoted label
value; every templating variable is used somewhere.

Any problem: each is printed to stderr and the exit status is 1. Otherwise one line per target:

    <panel id>\t<refId>\t<panel title>\t<expr>

with $job/$instance/$netns/$port replaced by the --var values (a variable not given: its
allValue, else .*), each a regex written into the PromQL string it stands in (so backslashes
and quotes are escaped for that string), $__rate_interval by 1m, $__interval by 15s and
$__range by 5m. Standard library only.
"""

import argparse
import json
import re
import sys

BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
GRID_COLUMNS = 24
# $name, ${name}, ${name:format}, [[name]] (the old syntax).
VAR_RE = re.compile(r"\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]")
SELECTOR_RE = re.compile(r"\b(backlogd_[A-Za-z0-9_:]*)\s*(\{[^}]*\})?")


class Problems:
    def __init__(self):
        self.items = []
        self.undeclared = {}  # datasource input name -> where it is used

    def finish(self):
        for name, wheres in self.undeclared.items():
            more = f" and {len(wheres) - 1} more" if len(wheres) > 1 else ""
            self.add("__inputs", f"datasource input {name} is used by {wheres[0]}{more} but not declared")

    def add(self, where, message):
        self.items.append(f"{where}: {message}")


def var_refs(text):
    """(name, start, end) of every variable reference in text."""
    for m in VAR_RE.finditer(text):
        yield (m.group(1) or m.group(2) or m.group(3)), m.start(), m.end()


def quoted_spans(expr):
    """[start, end) of each double-quoted string in a PromQL expression (backslash escapes honoured)."""
    spans, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if (expr[j] == "\\" and c != "`") else 1
            spans.append((i + 1, j, c))
            i = j + 1
        else:
            i += 1
    return spans


def in_double_quotes(spans, start, end):
    return any(a <= start and end <= b and q == '"' for a, b, q in spans)


def promql_string_escape(value):
    return value.replace("\\", "\\\\").replace('"', '\\"')


def expand(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        return promql_string_escape(values[name])
    return VAR_RE.sub(repl, expr)


def check_datasource(ds, where, inputs, problems):
    if isinstance(ds, str):
        uid = ds
    elif isinstance(ds, dict):
        uid = ds.get("uid")
        if ds.get("type") != "prometheus":
            problems.add(where, f"datasource type is {ds.get('type')!r}, not 'prometheus'")
    else:
        problems.add(where, "no datasource (want {\"type\": \"prometheus\", \"uid\": \"${DS_PROMETHEUS}\"})")
        return
    m = re.fullmatch(r"\$\{(\w+)\}", uid or "")
    if not m:
        problems.add(where, f"datasource uid {uid!r} is not an import input such as ${{DS_PROMETHEUS}}")
    elif m.group(1) not in inputs:
        problems.undeclared.setdefault(m.group(1), []).append(where)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def flatten_panels(panels, problems, where="panels"):
    """Top-level panels, then those inside (collapsed) rows; with their positions for the overlap check."""
    out = []
    if not isinstance(panels, list):
        problems.add(where, "is not a list")
        return out
    for i, p in enumerate(panels):
        if not isinstance(p, dict):
            problems.add(f"{where}[{i}]", "is not an object")
            continue
        out.append((p, f"{where}[{i}]", where == "panels"))
        if p.get("type") == "row" and p.get("panels"):
            out += flatten_panels(p["panels"], problems, f"{where}[{i}].panels")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dashboard", help="path of the dashboard JSON (import format)")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=REGEX",
                    help="value of a templating variable (repeatable)")
    args = ap.parse_args()

    def fail(lines):
        for line in lines:
            print(f"dashboard_queries: {args.dashboard}: {line}", file=sys.stderr)
        print(f"dashboard_queries: {len(lines)} problem(s)", file=sys.stderr)
        sys.exit(1)

    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        fail([f"cannot read it as JSON: {e}"])
    if not isinstance(dash, dict):
        fail(["the top level is not a JSON object"])

    problems = Problems()
    given = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"\w+", name):
            problems.add("--var", f"{item!r} is not NAME=REGEX")
        elif name in given:
            problems.add("--var", f"{name} given twice")
        else:
            given[name] = value

    # Top level.
    for key in ("title", "uid"):
        if not isinstance(dash.get(key), str) or not dash[key].strip():
            problems.add(key, "missing or empty")
    if not is_int(dash.get("schemaVersion")):
        problems.add("schemaVersion", "missing or not an integer")

    # Import inputs and requirements.
    inputs = {}
    raw_inputs = dash.get("__inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        problems.add("__inputs", "missing or empty: Grafana's import would not ask for the datasource")
        raw_inputs = []
    for i, inp in enumerate(raw_inputs):
        if not isinstance(inp, dict) or not isinstance(inp.get("name"), str):
            problems.add(f"__inputs[{i}]", "has no name")
            continue
        if inp.get("type") != "datasource" or inp.get("pluginId") != "prometheus":
            problems.add(f"__inputs[{i}]", "is not a datasource input with pluginId prometheus")
        inputs[inp["name"]] = inp
    if "DS_PROMETHEUS" not in inputs:
        problems.add("__inputs", "declares no DS_PROMETHEUS")
    requires = dash.get("__requires")
    if not isinstance(requires, list):
        problems.add("__requires", "missing")
        requires = []
    required = {(r.get("type"), r.get("id")) for r in requires if isinstance(r, dict)}
    for need in (("grafana", "grafana"), ("datasource", "prometheus")):
        if need not in required:
            problems.add("__requires", f"does not name {need[0]} {need[1]}")

    # Templating.
    variables = {}
    var_queries = []
    tlist = dash.get("templating", {}).get("list") if isinstance(dash.get("templating"), dict) else None
    if not isinstance(tlist, list):
        problems.add("templating.list", "missing")
        tlist = []
    for i, v in enumerate(tlist):
        where = f"templating.list[{i}]"
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not re.fullmatch(r"\w+", v["name"]):
            problems.add(where, "has no valid name")
            continue
        name = v["name"]
        where = f"templating variable {name}"
        if name in variables:
            problems.add(where, "defined twice")
        if name.startswith("__"):
            problems.add(where, "names starting with __ are Grafana's own")
        variables[name] = v
        if v.get("type") == "query":
            check_datasource(v.get("datasource"), where, inputs, problems)
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query")
            if not isinstance(q, str) or not q.strip():
                problems.add(where, "query variable without a query")
            else:
                var_queries.append((name, q))
    for name, v in variables.items():
        if v.get("type") == "query" and v.get("includeAll") and v.get("multi") and v.get("allValue") in (None, ""):
            problems.add(f"templating variable {name}",
                         "multi-select with All but no allValue: All would expand to a list, not .*")
    for name in given:
        if name not in variables:
            problems.add("--var", f"{name} is not a templating variable of the dashboard")
    values = {}
    for name, v in variables.items():
        values[name] = given.get(name, v.get("allValue") or ".*")

    used = set()
    for name, q in var_queries:
        spans = quoted_spans(q)
        for ref, s, e in var_refs(q):
            used.add(ref)
            if ref in BUILTINS:
                continue
            if ref not in variables:
                problems.add(f"templating variable {name}", f"its query uses ${ref}, which is not defined")
            elif ref == name:
                problems.add(f"templating variable {name}", "its query uses itself")
            elif not in_double_quotes(spans, s, e):
                problems.add(f"templating variable {name}", f"${ref} is not inside a quoted label value")

    # Panels.
    flat = flatten_panels(dash.get("panels"), problems)
    if not [p for p, _, _ in flat if p.get("type") != "row"]:
        problems.add("panels", "no panels")
    ids = {}
    boxes = []
    panel_types = set()
    out = []
    for p, where, top in flat:
        pid = p.get("id")
        title = p.get("title")
        label = f"panel {pid} ({title!r})" if pid is not None else f"{where} ({title!r})"
        if not is_int(pid):
            problems.add(label, "id missing or not an integer")
        elif pid in ids:
            problems.add(label, f"id {pid} also used by {ids[pid]}")
        else:
            ids[pid] = where
        ptype = p.get("type")
        if not isinstance(ptype, str) or not ptype:
            problems.add(label, "no type")
        if not isinstance(title, str) or not title.strip():
            problems.add(label, "no title")
        elif "\t" in title or "\n" in title:
            problems.add(label, "title holds a tab or line feed")
        g = p.get("gridPos")
        if not isinstance(g, dict):
            problems.add(label, "no gridPos")
        else:
            bad = [k for k in ("x", "y", "w", "h") if not is_int(g.get(k))]
            if bad:
                problems.add(label, f"gridPos without integer {'/'.join(bad)}")
            elif g["x"] < 0 or g["y"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > GRID_COLUMNS:
                problems.add(label, f"gridPos {g} is outside the {GRID_COLUMNS}-column grid")
            elif top:
                box = (g["x"], g["y"], g["x"] + g["w"], g["y"] + g["h"])
                for other, olabel in boxes:
                    if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                        problems.add(label, f"gridPos overlaps {olabel}")
                boxes.append((box, label))
        if ptype == "row":
            continue
        if isinstance(ptype, str):
            panel_types.add(ptype)
        if not isinstance(p.get("description"), str) or not p["description"].strip():
            problems.add(label, "no description")
        check_datasource(p.get("datasource"), label, inputs, problems)
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.add(label, "no targets")
            continue
        refs = set()
        for j, t in enumerate(targets):
            if not isinstance(t, dict):
                problems.add(label, f"targets[{j}] is not an object")
                continue
            ref = t.get("refId")
            tlabel = f"{label} target {ref if ref else j}"
            if not isinstance(ref, str) or not ref:
                problems.add(tlabel, "no refId")
            elif ref in refs:
                problems.add(tlabel, "refId used twice in the panel")
            refs.add(ref)
            check_datasource(t.get("datasource"), tlabel, inputs, problems)
            if not isinstance(t.get("legendFormat"), str):
                problems.add(tlabel, "no legendFormat")
            expr = t.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                problems.add(tlabel, "no expr")
                continue
            ok = True
            spans = quoted_spans(expr)
            for name, s, e in var_refs(expr):
                used.add(name)
                if name in BUILTINS:
                    if in_double_quotes(spans, s, e):
                        problems.add(tlabel, f"${name} inside a quoted string")
                        ok = False
                    continue
                if name.startswith("__"):
                    problems.add(tlabel, f"${name}: this checker knows only {', '.join('$' + b for b in BUILTINS)}")
                    ok = False
                elif name not in variables:
                    problems.add(tlabel, f"${name} is not defined in templating")
                    ok = False
                elif not in_double_quotes(spans, s, e):
                    problems.add(tlabel, f"${name} is not inside a quoted label value")
                    ok = False
            for m in SELECTOR_RE.finditer(expr):
                if any(a <= m.start() < b for a, b, _ in spans):
                    continue
                matchers = m.group(2) or ""
                for need in ('job=~"$job"', 'instance=~"$instance"'):
                    if need not in matchers:
                        problems.add(tlabel, f"selector {m.group(1)} does not filter {need}")
            if ok:
                out.append(f"{pid}\t{ref}\t{title}\t{' '.join(expand(expr, values).split())}")
    for name in variables:
        if name not in used:
            problems.add(f"templating variable {name}", "not used by any query")
    for ptype in sorted(panel_types):
        if ("panel", ptype) not in required:
            problems.add("__requires", f"does not name panel type {ptype}")

    # Every other datasource reference in the document (annotations, links, …).
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "datasource" and not path.startswith(("panels", "templating")):
                    check_datasource(v, f"{path}.datasource", inputs, problems)
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    walk(dash, "")
    # Datasources named inside panels at any depth (not only panel and target level).
    def walk_panels(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "datasource" and v is not None and v != {} and not re.search(r"(panels\[\d+\]|targets\[\d+\])$", path):
                    check_datasource(v, f"{path}.datasource", inputs, problems)
                walk_panels(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk_panels(v, f"{path}[{i}]")
    walk_panels(dash.get("panels"), "panels")

    problems.finish()
    if problems.items:
        fail(problems.items)
    for line in out:
        print(line)


if __name__ == "__main__":
    main()
