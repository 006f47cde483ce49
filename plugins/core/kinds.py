"""The core kinds: characters (SillyTavern / Character Card V2 fields), the people using the
workbench, and the configs of its AI tools. Relations between entities are links, not ids in
the data, so every kind's links are shown and edited the same way."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import EmailStr, Field

from lifeos.kinds import ANY_KIND, EntityData, KindSpec, ShortText, Text
from lifeos.schedules import Cron, TimeZone


class Character(EntityData):
    description: Text = ""
    personality: Text = ""
    scenario: Text = ""
    greeting: Text = Field("", description="first message (Character Card `first_mes`)")
    example_dialogue: Text = Field("", description="Character Card `mes_example`")
    alternate_greetings: list[Text] = Field(default_factory=list, max_length=50)
    appearance: Text = Field("", description="physical description used when composing images")
    age: ShortText = ""
    gender: ShortText = ""
    pronouns: ShortText = ""
    species: ShortText = ""
    backstory: Text = ""
    system_prompt: Text = ""
    creator: ShortText = ""
    creator_notes: Text = ""
    character_version: ShortText = ""
    extensions: dict[str, Any] = Field(
        default_factory=dict, description="card extensions, kept as-is for round trips"
    )


class ToolConfig(EntityData):
    tool: ShortText
    model_alias: ShortText = "default"
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(512, ge=1, le=32_768)
    system_prompt: Text = ""
    user_prompt: Text = ""
    output_schema: dict[str, Any] | None = None


class User(EntityData):
    display_name: ShortText = ""
    email: EmailStr | None = None
    role: Literal["owner", "member", "guest"] = "member"
    preferences: dict[str, Any] = Field(default_factory=dict)


class WorkflowTemplate(EntityData):
    """A workflow saved in the library (its YAML, in the workflow language)."""

    yaml: Text = Field(description="the workflow, in the workflow language (docs/workflows.md)")
    description: Text = ""


class Proposal(EntityData):
    """Something a run proposes (a workflow's `outputs` with `review: true`): nothing is in
    the library until a person approves it."""

    target_kind: ShortText
    payload: dict[str, Any] = Field(default_factory=dict, description="name, data and tags")
    workflow: ShortText = ""
    run_id: ShortText = ""
    read: list[str] = Field(default_factory=list, description="entities the run read")
    status: Literal["pending", "approved", "rejected"] = "pending"
    entity_id: ShortText = Field("", description="the entity made when approved")


class WorkflowSchedule(EntityData):
    """A workflow that runs by itself: at each cron time, with its inputs fixed or drawn at
    random, within a budget per run and per day."""

    workflow: ShortText = Field(description="the workflow's name")
    cron: Cron = Field(description="five-field cron expression")
    timezone: TimeZone = "UTC"
    enabled: bool = True
    inputs: dict[str, Any] = Field(default_factory=dict, description="fixed input values")
    draw: dict[str, list[Any] | None] = Field(
        default_factory=dict,
        description="inputs drawn at each tick: from the values listed, or (null) from the "
        "input's own `choices`, or for an `entity` input from the library's entities of its "
        "kind (favourites weigh three times as much)",
    )
    max_cost_usd: float | None = Field(None, gt=0, description="per run (and the workflow's)")
    max_duration_s: int | None = Field(None, gt=0, description="per run (and the workflow's)")
    max_runs_per_day: int | None = Field(None, gt=0)
    max_cost_usd_per_day: float | None = Field(None, gt=0)
    skip_if_running: bool = True


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "character",
        Character,
        "Character",
        "a person or creature, with a card and looks",
        links={
            "wears": ("outfit", "clothing_item", "accessory"),
            "has_look": ("hair_style", "hair_color", "makeup", "expression"),
            "drawn_in": ("art_style", "visual_style"),
        },
    ),
    KindSpec("tool_config", ToolConfig, "Tool config", "model and prompts of an AI tool"),
    KindSpec("user", User, "User", "a person using this workbench"),
    KindSpec("workflow", WorkflowTemplate, "Workflow", "a chain of tools, run as a Dagster job"),
    KindSpec("proposal", Proposal, "Proposal", "an entity a run proposes, waiting for review"),
    KindSpec(
        "workflow_schedule",
        WorkflowSchedule,
        "Workflow schedule",
        "a workflow that runs by itself, its inputs drawn at random",
        links={"produced": (ANY_KIND,)},
    ),
)
