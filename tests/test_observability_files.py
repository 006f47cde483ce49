"""The dashboard and alert rules under deploy/observability are files people load into
Grafana and Prometheus: they parse, and every metric they name is one /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from apps.api.app import create_app
from lifeos.settings import Settings

FILES = Path(__file__).resolve().parents[1] / "deploy" / "observability"
METRIC = re.compile(r"\b(lifeos_[a-z0-9_]+)")
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


def exported(settings: Settings) -> set[str]:
    with TestClient(create_app(settings, studio=False)) as c:
        c.get("/api/v1/kinds")
        text = c.get("/metrics").text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + s for s in SUFFIXES.get(family.type, [""])}
        names |= {sample.name for sample in family.samples}
    return names


def balanced(expr: str) -> bool:
    depth = 0
    for ch in expr:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_alert_rules_parse_and_name_only_exported_metrics(settings: Settings) -> None:
    rules = yaml.safe_load((FILES / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {
        "LifeOSHighErrorRate",
        "LifeOSSlowRequests",
        "LifeOSRunQueueDeep",
        "LifeOSModelCostOverBudget",
    }
    names = exported(settings)
    for rule in rules:
        assert balanced(rule["expr"]), rule["alert"]
        used = set(METRIC.findall(rule["expr"]))
        assert used and used <= names, (rule["alert"], used - names)
    scrape = yaml.safe_load((FILES / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    assert scrape["scrape_configs"][0]["metrics_path"] == "/metrics"


def test_the_dashboard_queries_only_exported_metrics(settings: Settings) -> None:
    dashboard = json.loads((FILES / "grafana-dashboard.json").read_text())
    names = exported(settings)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(dashboard["panels"]) >= 8 and exprs
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert balanced(expr) and used and used <= names, (expr, used - names)
    compose = yaml.safe_load((FILES / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"prometheus", "grafana"}
