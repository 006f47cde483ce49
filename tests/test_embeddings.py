"""Entity embeddings: every live entity in LanceDB once, at its revision, on the real local
embedder; a second materialization embeds only what changed and drops what was deleted; the
check catches a row left behind."""

from __future__ import annotations

import dagster as dg

from assets.embeddings import CORPUS, entity_embeddings, entity_embeddings_current, entity_text
from lifeos.db.engine import session_scope
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.vectors import VectorStore
from resources.workbench import WorkbenchResource


def _materialize(settings: Settings) -> dg.ExecuteInProcessResult:
    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))
    return dg.materialize(
        [entity_embeddings, entity_embeddings_current], resources={"workbench": workbench}
    )


def test_entities_are_embedded_once_and_again_only_when_changed(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        luna = store.create(
            "character",
            {"name": "Luna", "tags": ["hero"], "data": {"description": "a lighthouse keeper"}},
        )
        coat = store.create("clothing_item", {"name": "Red wool coat"})
        gone = store.create("outfit", {"name": "Old look"})
    assert "a lighthouse keeper" in entity_text(luna) and "hero" in entity_text(luna)
    first = _materialize(settings)
    assert first.success
    meta = first.asset_materializations_for_node("entity_embeddings")[0].metadata
    assert meta["embedded_now"].value == 3 and meta["dimension"].value == 384
    assert first.get_asset_check_evaluations()[0].passed
    with session_scope(settings.database_url) as session:
        store = EntityStore(session)
        store.update("character", luna.id, {"data": {"description": "a lighthouse keeper at sea"}})
        store.delete("outfit", gone.id)
    second = _materialize(settings)
    meta = second.asset_materializations_for_node("entity_embeddings")[0].metadata
    assert (meta["embedded_now"].value, meta["dropped"].value) == (1, 1)
    assert meta["embedded_ids"].value == [luna.id]
    assert second.get_asset_check_evaluations()[0].passed
    vectors = VectorStore(settings.lancedb_dir)
    rows = {r["document"]: r["revision"] for r in vectors.documents(CORPUS, ["revision"])}
    assert rows == {luna.id: 2, coat.id: 1}
    # The nearest entity to a question about the sea is Luna.
    from lifeos.llm.router import get_router

    vector = get_router(settings.database_url).embed(["who keeps the lighthouse?"]).vectors[0]
    (best, *_) = vectors.vector_search(CORPUS, vector, documents=None, limit=2)
    assert best["document"] == luna.id
    # A row left behind (an entity purged behind the asset's back) fails the check.
    with session_scope(settings.database_url) as session:
        EntityStore(session).purge("clothing_item", coat.id)
    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))
    evaluation = entity_embeddings_current(
        dg.build_asset_check_context(resources={"workbench": workbench})
    )
    assert isinstance(evaluation, dg.AssetCheckResult) and not evaluation.passed
    assert evaluation.metadata["deleted"].value == [coat.id]
