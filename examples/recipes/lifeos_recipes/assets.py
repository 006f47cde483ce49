"""`recipes_shopping_list`: the shopping list for every recipe in the library, written to the
exports folder, a Dagster asset in the code location while the plugin is loaded."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.library import LibraryResource

from .model import settings, shopping_list


@dg.asset(group_name="recipes", kinds={"markdown"}, description=__doc__)
def recipes_shopping_list(library: LibraryResource) -> dg.MaterializeResult:
    with library.store() as store:
        recipes = store.list_all("recipe")
        items = shopping_list(r.data for r in recipes)
    out = Path(library.exports_dir) / settings().shopping_list_file
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"- {item} ×{n}\n" for item, n in items), encoding="utf-8")
    return dg.MaterializeResult(
        metadata={"recipes": len(recipes), "items": len(items), "path": str(out)}
    )


definitions = dg.Definitions(assets=[recipes_shopping_list])
