# /// script
# requires-python = ">=3.11"
# dependencies = ["marimo", "polars", "duckdb", "altair", "lifeos-workbench"]
# ///
"""Costs and usage of the AI tools: calls, tokens, latency and cost per tool, model and day,
from the ledger (`tool_calls`). `marimo edit notebooks/costs.py`, or run it as a script."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import polars as pl

    from lifeos import analytics
    from lifeos.settings import get_settings

    calls = analytics.tool_calls_frame(get_settings().database_url)
    return alt, analytics, calls, mo, pl


@app.cell
def _(analytics, calls, mo):
    by_tool = analytics.usage_by(calls, "tool")
    by_model = analytics.usage_by(calls, "provider", "model")
    by_day = analytics.usage_by(calls, "day")
    total_cost = float(calls["cost_usd"].sum()) if calls.height else 0.0
    failed = int((~calls["ok"]).sum()) if calls.height else 0
    mo.md(f"## {calls.height} model calls, {failed} failed, ${total_cost:.4f} spent")
    return by_day, by_model, by_tool


@app.cell
def _(by_model, by_tool, mo):
    mo.vstack(
        [
            mo.md("### Per tool"),
            mo.ui.table(by_tool, selection=None),
            mo.md("### Per model"),
            mo.ui.table(by_model, selection=None),
        ]
    )
    return


@app.cell
def _(alt, by_day, calls, mo):
    if calls.height:
        tokens = (
            alt.Chart(by_day)
            .transform_fold(["tokens_in", "tokens_out"])
            .mark_bar()
            .encode(x="day:T", y="value:Q", color="key:N")
            .properties(title="tokens per day")
        )
        latency = (
            alt.Chart(calls)
            .mark_boxplot()
            .encode(
                x="model:N",
                y=alt.Y("latency_ms:Q", scale=alt.Scale(type="log")),
            )
            .properties(title="latency per model (ms)")
        )
        view = mo.vstack([mo.ui.altair_chart(tokens), mo.ui.altair_chart(latency)])
    else:
        view = mo.md("_No model calls yet: run a tool (`lifeos tools run tagger ...`)._")
    view
    return


if __name__ == "__main__":
    app.run()
