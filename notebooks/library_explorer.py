# /// script
# requires-python = ">=3.11"
# dependencies = ["marimo", "polars", "duckdb", "altair", "lifeos-workbench"]
# ///
"""Library explorer: what is in the library, how it is tagged, what changed lately.

Run `marimo edit notebooks/library_explorer.py`, or `python notebooks/library_explorer.py`
headless. Reads the library named by LIFEOS_HOME / LIFEOS_DATABASE_URL.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    from lifeos import analytics
    from lifeos.settings import get_settings

    url = get_settings().database_url
    return analytics, mo, url


@app.cell
def _(analytics, url):
    entities = analytics.entities_frame(url)
    tags = analytics.tags_frame(url)
    revisions = analytics.revisions_frame(url)
    counts = analytics.counts_per_kind(entities)
    tag_counts = analytics.top_tags(tags)
    recent = analytics.recent_changes(revisions)
    return counts, entities, recent, tag_counts


@app.cell
def _(counts, entities, mo):
    live = int(counts["live"].sum()) if counts.height else 0
    mo.vstack(
        [
            mo.md(
                f"## Library: {live} live entities in {counts.height} kinds "
                f"({entities.height - live} in the trash)"
            ),
            mo.ui.table(counts, selection=None),
        ]
    )
    return (live,)


@app.cell
def _(counts, mo):
    import altair as alt

    chart = (
        alt.Chart(counts).mark_bar().encode(x="live:Q", y=alt.Y("kind:N", sort="-x"))
        if counts.height
        else None
    )
    mo.ui.altair_chart(chart) if chart is not None else mo.md("_The library is empty._")
    return


@app.cell
def _(mo, tag_counts):
    mo.vstack([mo.md("### Most used tags"), mo.ui.table(tag_counts, selection=None)])
    return


@app.cell
def _(mo, recent):
    mo.vstack([mo.md("### Recent changes"), mo.ui.table(recent, selection=None)])
    return


if __name__ == "__main__":
    app.run()
