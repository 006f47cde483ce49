# /// script
# requires-python = ">=3.11"
# dependencies = ["marimo", "polars", "altair", "lifeos-workbench"]
# ///
"""Rules Q&A quality: metrics of every `lifeos eval rules` run over time, and the questions
that failed with their retrieved and gold pages, to see why. Reads LIFEOS_HOME/exports/evals."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import json

    import altair as alt
    import marimo as mo
    import polars as pl

    from lifeos.settings import get_settings

    evals_dir = get_settings().exports_dir / "evals"
    runs = sorted(evals_dir.glob("*/metrics.json")) if evals_dir.exists() else []
    history = pl.DataFrame([{**json.loads(p.read_text()), "run": p.parent.name} for p in runs])
    return alt, evals_dir, history, mo, pl, runs


@app.cell
def _(alt, history, mo):
    metrics = ["recall_at_1", "recall_at_5", "citation_page_accuracy", "answer_correctness",
               "abstention_recall", "false_abstention_rate"]
    if history.height:
        long = history.unpivot(index=["run"], on=metrics, variable_name="metric",
                               value_name="value")
        view = mo.vstack([
            mo.md(f"## {history.height} evaluation runs"),
            mo.ui.altair_chart(alt.Chart(long).mark_line(point=True).encode(
                x="run:N", y="value:Q", color="metric:N")),
            mo.ui.table(history, selection=None)])
    else:
        view = mo.md("_No evaluations yet: `lifeos eval rules DIR`._")
    view
    return (metrics,)


@app.cell
def _(mo, pl, runs):
    latest = pl.read_parquet(runs[-1].parent / "answers.parquet") if runs else pl.DataFrame()
    failures = latest.filter(
        (pl.col("answerable") & (pl.col("abstained") | ~pl.col("supported")))
        | (~pl.col("answerable") & ~pl.col("abstained"))
    ).select("id", "kind", "answerable", "gold_pages", "retrieved_pages", "cited_pages",
             "mode", "question", "answer", "gold_answer") if latest.height else latest
    mo.vstack([mo.md(f"### Failed questions of the latest run ({failures.height})"),
               mo.ui.table(failures, selection=None)]) if latest.height else mo.md("")
    return failures, latest


if __name__ == "__main__":
    app.run()
