"""Lineage in Dagster: one connected asset graph from the sources (library, tool configs,
models, rulebook files) to what is made of them; code versions that change exactly with the
model, prompt or code an asset uses; observed source versions; staleness the Dagster UI shows;
and the automation a person opts into re-materializing what changed."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.sources import LIBRARY, MODELS, observations, observe_sources
from lifeos.db.engine import session_scope
from lifeos.settings import Settings
from lifeos.store import EntityStore
from pipelines.definitions import build_definitions
from resources.workbench import WorkbenchResource

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _graph(settings: Settings) -> dg.Definitions:
    return build_definitions(settings=settings)


def _versions(defs: dg.Definitions) -> dict[str, str | None]:
    graph = defs.resolve_asset_graph()
    return {k.to_user_string(): graph.get(k).code_version for k in graph.get_all_asset_keys()}


def _parents(defs: dg.Definitions) -> dict[str, set[str]]:
    graph = defs.resolve_asset_graph()
    return {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }


@pytest.fixture
def own_configs(settings: Settings, tmp_path: Path) -> Settings:
    """The settings with a config folder of their own, to change models and prompts in."""
    folder = tmp_path / "configs"
    shutil.copytree(CONFIGS, folder)
    return settings.model_copy(update={"config_dir": folder})


def test_one_connected_graph_with_code_versions(settings: Settings) -> None:
    defs = _graph(settings)
    parents = _parents(defs)
    links = collections.defaultdict(set)
    for child, ps in parents.items():
        for p in ps:
            links[child].add(p)
            links[p].add(child)
    seen, todo = set(), ["library_entities"]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(links[node])
    assert seen == set(parents)  # every asset reaches every other
    expected = {
        "rulebook_pages": {"rulebook_files"},
        "rulebook_chunks": {"rulebook_pages"},
        "rulebook_index": {"rulebook_chunks"},
        "rules_qa_eval": {"rulebook_index", "tool_configs", "models"},
        "library_images": {"image_batches", "scheduled_images"},
        "scheduled_images": {"library_entities"},
        "bgg_catalogue": {"library_entities"},
        "bgg_responses": {"bgg_catalogue"},
        "image_analyses": {"library_images", "models"},
        "accepted_entities": {"image_analyses"},
        "image_batches": {"library_entities"},
        "story_plan": {"library_entities", "tool_configs", "models"},
        "story_illustrations": {"story_scenes", "image_batches"},
        "library_snapshot": {"library_entities", "entity_embeddings"},
        "entity_embeddings": {"library_entities", "models"},
        "workflows/clothing_discovery": {"library_entities"},
    }
    for child, ps in expected.items():
        assert parents[child] == ps, child
    graph = defs.resolve_asset_graph()
    materializable = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert all(graph.get(k).code_version for k in materializable)


def test_code_versions_change_with_what_made_the_output(own_configs: Settings) -> None:
    before = _versions(_graph(own_configs))
    models_path = own_configs.config_dir / "models.yaml"
    models = yaml.safe_load(models_path.read_text())
    models["aliases"]["embed"] = {"model": "ollama/nomic-embed-text"}
    models_path.write_text(yaml.safe_dump(models))
    embedder = _versions(_graph(own_configs))
    changed = {k for k in before if before[k] != embedder[k]}
    # The chunks (sized by the embedder's tokenizer), the index, the evaluation and the
    # entities' vectors: not the pages, not the stories.
    assert changed == {"rulebook_chunks", "rulebook_index", "rules_qa_eval", "entity_embeddings"}
    prompt = own_configs.config_dir / "tools" / "rules_qa.yaml"
    prompt.write_text(prompt.read_text() + "\n# a changed prompt\n")
    after = _versions(_graph(own_configs))
    assert {k for k in after if after[k] != embedder[k]} == {"rules_qa_eval"}


def _observe(context: dg.SensorEvaluationContext, settings: Settings) -> dg.SensorResult:
    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))
    result = observe_sources(context, workbench=workbench)
    assert isinstance(result, dg.SensorResult)
    return result


def test_sources_are_observed_once_per_new_version(settings: Settings) -> None:
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        first = _observe(context, settings)
        assert {e.asset_key for e in first.asset_events} == {
            LIBRARY,
            MODELS,
            dg.AssetKey("tool_configs"),
        }
        context = dg.build_sensor_context(instance=instance, cursor=first.cursor)
        assert _observe(context, settings).asset_events == []
        with session_scope(settings.database_url) as session:
            EntityStore(session).create("character", {"name": "New hero"})
        again = _observe(context, settings)
        assert [e.asset_key for e in again.asset_events] == [LIBRARY]
        assert again.asset_events[0].metadata["entities"].value == 1


def test_bgg_answers_are_a_new_version_when_one_is_fetched_or_changes(settings: Settings) -> None:
    from lifeos.db.models import HttpCache, utcnow
    from plugins.board_games.assets.games import observe_bgg

    workbench = WorkbenchResource(database_url=settings.database_url, home=str(settings.home))

    def observe(cursor: str | None) -> dg.SensorResult:
        with dg.instance_for_test() as instance:
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            result = observe_bgg(context, workbench=workbench)
        assert isinstance(result, dg.SensorResult)
        return result

    def store(body: str) -> None:
        with session_scope(settings.database_url) as session:
            row = session.get(HttpCache, "k" * 64)
            if row is None:
                session.add(
                    HttpCache(
                        key="k" * 64, url="https://bgg/thing?id=13", body=body, fetched_at=utcnow()
                    )
                )
            else:
                row.body, row.fetched_at = body, utcnow()

    empty = observe(None)
    (event,) = empty.asset_events
    assert (
        event.asset_key == dg.AssetKey("bgg_responses") and event.metadata["responses"].value == 0
    )
    store("<items><item id='13'/></items>")
    fetched = observe(empty.cursor)
    assert fetched.asset_events[0].metadata["responses"].value == 1
    store("<items><item id='13'/></items>")  # fetched again, the same answer: no new version
    assert observe(fetched.cursor).asset_events == []
    store("<items><item id='13' year='1995'/></items>")
    assert len(observe(fetched.cursor).asset_events) == 1


def test_a_new_source_version_and_a_new_code_version_show_as_stale(
    settings: Settings,
) -> None:
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    defs = _graph(settings)
    key = dg.AssetKey("library_snapshot")
    with dg.instance_for_test() as instance:
        for obs in observations(settings):
            instance.report_runless_asset_event(obs)
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
        assert job.execute_in_process(instance=instance).success

        def status(d: dg.Definitions) -> StaleStatus:
            resolver = CachingStaleStatusResolver(
                instance, d.resolve_asset_graph(), LoadingContextForTest(instance)
            )
            return resolver.get_status(key)

        assert status(defs) == StaleStatus.FRESH
        with session_scope(settings.database_url) as session:
            EntityStore(session).create("outfit", {"name": "Raincoat"})
        for obs in observations(settings):
            if obs.asset_key == LIBRARY:
                instance.report_runless_asset_event(obs)
        assert status(defs) == StaleStatus.STALE  # the library it was made from changed
        assert job.execute_in_process(instance=instance).success
        assert status(defs) == StaleStatus.FRESH


def test_opted_in_assets_rematerialize_when_their_code_version_changes(
    own_configs: Settings,
) -> None:
    from assets import library as library_assets
    from assets.lineage import lineage
    from resources.library import LibraryResource

    settings = own_configs.model_copy(update={"automate": ["library_snapshot"]})
    defs = _graph(settings)
    assert defs.resolve_sensor_def("lifeos_automation") is not None
    key = dg.AssetKey("library_snapshot")
    assert defs.resolve_asset_graph().get(key).automation_condition is not None
    assert _graph(own_configs).resolve_asset_graph().get(key).automation_condition is None
    library = LibraryResource(
        database_url=settings.database_url, exports_dir=str(settings.exports_dir)
    )

    def made_with(version: str) -> dg.Definitions:
        return dg.Definitions(
            assets=lineage(
                [library_assets.library_snapshot],
                code_versions={"library_snapshot": version},
                automate=settings.automate,
            ),
            resources={"library": library},
        )

    with dg.instance_for_test() as instance:
        job = made_with("v1").resolve_implicit_global_asset_job_def()
        assert job.execute_in_process(instance=instance).success
        first = dg.evaluate_automation_conditions(defs=made_with("v1"), instance=instance)
        assert first.total_requested == 0  # made with this code version
        # Its code changed: requested once, not again on the next tick.
        second = dg.evaluate_automation_conditions(
            defs=made_with("v2"), instance=instance, cursor=first.cursor
        )
        assert second.total_requested == 1
        third = dg.evaluate_automation_conditions(
            defs=made_with("v2"), instance=instance, cursor=second.cursor
        )
        assert third.total_requested == 0
