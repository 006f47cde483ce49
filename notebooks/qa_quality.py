# /// script
# requires-python = ">=3.11"
# dependencies = ["marimo", "polars", "altair", "lifeos-workbench"]
# ///
"""Rules Q&A quality: metrics of every `lifeos eval rules` run over time, and the questions
that failed with their retrieved and gold pages, to see why. Reads the library DB's eval_runs."""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import polars as pl

    from lifeos.settings import get_settings
    from plugins.board_games.tools.rulebooks.evaluate import eval_results, eval_runs_frame

    url = get_settings().database_url
    history = eval_runs_frame(url).with_columns(
        run=pl.col("at").dt.strftime("%Y-%m-%d %H:%M") + " " + pl.col("set")
    )
    return alt, eval_results, history, mo, pl, url


@app.cell
def _(alt, history, mo):
    metrics = [
        "recall_at_1",
        "recall_at_5",
        "citation_page_accuracy",
        "answer_correctness",
        "abstention_recall",
        "false_abstention_rate",
    ]
    if history.height:
        long = history.unpivot(
            index=["run"], on=metrics, variable_name="metric", value_name="value"
        )
        view = mo.vstack(
            [
                mo.md(f"## {history.height} evaluation runs"),
                mo.ui.altair_chart(
                    alt.Chart(long)
                    .mark_line(point=True)
                    .encode(x="run:N", y="value:Q", color="metric:N")
                ),
                mo.ui.table(history, selection=None),
            ]
        )
    else:
        view = mo.md("_No evaluations yet: `lifeos eval rules DIR`._")
    view
    return (metrics,)


@app.cell
def _(eval_results, history, mo, pl, url):
    latest = eval_results(url, history["id"][-1]) if history.height else pl.DataFrame()
    # p_none: the model's probability that no passage answers; evidence: how close the best
    # passage (its chunk or closest sentence) comes to the question. The tool abstains when
    # p_none - evidence reaches `abstain_margin`. Older runs lack these columns.
    shown = [
        "id",
        "kind",
        "answerable",
        "gold_pages",
        "retrieved_pages",
        "cited_pages",
        "mode",
        *[c for c in ("p_none", "evidence") if c in latest.columns],
        "question",
        "answer",
        "gold_answer",
    ]
    failures = (
        latest.filter(
            (pl.col("answerable") & (pl.col("abstained") | ~pl.col("supported")))
            | (~pl.col("answerable") & ~pl.col("abstained"))
        ).select(shown)
        if latest.height
        else latest
    )
    mo.vstack(
        [
            mo.md(f"### Failed questions of the latest run ({failures.height})"),
            mo.ui.table(failures, selection=None),
        ]
    ) if latest.height else mo.md("")
    return failures, latest


if __name__ == "__main__":
    app.run()
