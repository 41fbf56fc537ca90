#!/usr/bin/env python3
"""Every metric the Grafana dashboard's queries and the alert rules name is one pgtenant serves.

What pgtenant serves is README.md's "Metrics and alerts" table (the integration test "the README's
metric table and the endpoint list the same metrics" holds it equal to the endpoint). A histogram's
_bucket/_sum/_count series count as its name; `up` is Prometheus' own.

Usage: metric_names.py SOURCE_DIR    (prints what it checked; exits 1 naming every unknown metric)
"""
import json
import os
import re
import sys

NAME = re.compile(r"\b((?:pgtenant|process)_[a-z0-9_]+)")
PROMETHEUS_OWN = {"up"}


def documented(readme_path):
    with open(readme_path) as f:
        text = f.read()
    section = re.search(r"^## Metrics and alerts\n(.*?)^## ", text, re.S | re.M)
    if not section:
        sys.exit("README.md has no '## Metrics and alerts' section")
    names = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section.group(1), re.M))
    if not names:
        sys.exit("README.md's metric table lists no metric")
    return names


def alert_exprs(text):
    """The `expr:` of each rule: one line, or a `|` block (the lines indented deeper than the key)."""
    exprs = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s+)expr:\s*(.*)$", line)
        if not m:
            continue
        if m.group(2).strip() not in ("|", ">", "|-", ">-"):
            exprs.append(m.group(2))
            continue
        block = []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= len(m.group(1)):
                break
            block.append(following.strip())
        exprs.append(" ".join(block).strip())
    return exprs


def family(name, known):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in known:
            return name[: -len(suffix)]
    return name


def main():
    source = sys.argv[1]
    known = documented(os.path.join(source, "README.md"))
    failures = []

    with open(os.path.join(source, "ops", "grafana", "pgtenant.json")) as f:
        dashboard = json.load(f)
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    if not queries:
        failures.append("the dashboard has no query")
    for expr in queries:
        names = NAME.findall(expr)
        if not names:
            failures.append(f"dashboard query names no pgtenant metric: {expr}")
        for name in names:
            if family(name, known) not in known:
                failures.append(f"dashboard query names {name}, which pgtenant does not serve: {expr}")
    instance_var = [v for v in dashboard["templating"]["list"] if v["name"] == "instance"]
    if not instance_var:
        failures.append("the dashboard has no `instance` variable")
    for expr in [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]:
        if "$instance" not in expr:
            failures.append(f"dashboard query is not filtered by $instance: {expr}")

    with open(os.path.join(source, "ops", "prometheus", "alerts.yml")) as f:
        alerts = f.read()
    exprs = alert_exprs(alerts)
    if len(exprs) < 7:
        failures.append(f"alerts.yml: {len(exprs)} rules found, expected at least 7")
    for expr in exprs:
        names = set(NAME.findall(expr)) | ({"up"} if re.search(r"\bup\b", expr) else set())
        if not names:
            failures.append(f"alert rule names no metric: {expr.strip()}")
        for name in names:
            if name not in PROMETHEUS_OWN and family(name, known) not in known:
                failures.append(f"alert rule names {name}, which pgtenant does not serve: {expr.strip()}")

    for message in failures:
        print("FAIL:", message)
    if failures:
        sys.exit(1)
    print(f"OK: {len(queries)} dashboard queries and {len(exprs)} alert rules name only the {len(known)} metrics "
          "README.md lists")


if __name__ == "__main__":
    main()
