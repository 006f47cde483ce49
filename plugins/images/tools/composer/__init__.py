"""Image prompt composer: entities, styles and wildcards → prompts with a recipe."""

from plugins.images.tools.composer.composer import (
    Composer,
    ComposerConfig,
    ComposeRequest,
    Composition,
    Recipe,
    RecipePart,
    image_relation,
)

__all__ = [
    "ComposeRequest",
    "Composer",
    "ComposerConfig",
    "Composition",
    "Recipe",
    "RecipePart",
    "image_relation",
]
