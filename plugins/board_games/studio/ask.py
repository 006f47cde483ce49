"""Ask the rules: pick a game (or upload its rulebook), ask, see verified citations on the
rendered page, give feedback; past questions per game."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd
from PIL import Image, ImageDraw

from apps.studio.base import HEAVY, Background, Page, guarded
from lifeos.cache import CountedLRU
from plugins.board_games.tools.rulebooks.text import ELLIPSIS
from plugins.board_games.tools.rules_qa import Citation, RulesAnswer

if TYPE_CHECKING:
    from plugins.board_games.tools.games import Games
    from plugins.board_games.tools.rulebooks.service import Rulebooks
    from plugins.board_games.tools.rules_qa import RulesQA

PAST_COLUMNS = ["★", "asked", "question", "answer", "feedback", "id"]
ChatHistory = list[dict[str, Any]]  # the chatbot's messages: {"role", "content"}


# Citations clicked through again: a render with its search costs ~0.2-1 s. The PDF's name is
# its sha256 (the key has its mtime too, for any other file); ~4 MB a page at the default scale.
RENDERED = CountedLRU[Image.Image]("rendered_pages", 12)


def render_page(pdf: Path, page_number: int, quote: str, *, scale: float = 1.6) -> Image.Image:
    """The rulebook page as an image with the quote highlighted (found by its words, so line
    breaks and words hyphenated over them in the PDF do not matter)."""
    key = (str(pdf), pdf.stat().st_mtime_ns, page_number, quote, scale)
    return RENDERED.get_or_make(key, lambda: _render(pdf, page_number, quote, scale)).copy()


def _render(pdf: Path, page_number: int, quote: str, scale: float) -> Image.Image:
    import pdfplumber
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        image = doc[page_number - 1].render(scale=scale).to_pil().convert("RGB")
    finally:
        doc.close()
    # A word may be broken over two lines on the page ("oppo-" "nent") and whole in the quote.
    patterns = [
        r"\W+".join(r"(?:-\s*)?".join(map(re.escape, t)) for t in tokens)
        for part in quote.split(ELLIPSIS)
        if (tokens := re.findall(r"\w+", part)[:40])
    ]
    if not patterns:
        return image
    with pdfplumber.open(pdf) as plumber:
        page = plumber.pages[page_number - 1]
        # a table row is quoted with its header: each part is highlighted where it stands
        matches = [
            found[0]
            for pattern in patterns
            if (found := page.search(pattern, regex=True, case=False, return_chars=True))
        ]
        # pdfplumber measures from the media box, the image shows the crop box (print PDFs)
        dx, dy = page.cropbox[0], page.cropbox[1]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for match in matches:
        lines: dict[int, list[dict[str, Any]]] = {}
        for ch in match.get("chars", []):
            lines.setdefault(round(ch["top"]), []).append(ch)
        for chars in lines.values():
            box = (
                (min(c["x0"] for c in chars) - dx) * scale - 2,
                (min(c["top"] for c in chars) - dy) * scale - 2,
                (max(c["x1"] for c in chars) - dx) * scale + 2,
                (max(c["bottom"] for c in chars) - dy) * scale + 2,
            )
            draw.rectangle(box, fill=(255, 221, 0, 90), outline=(230, 160, 0, 255), width=2)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _cite_md(citations: list[Citation], title: str) -> str:
    if not citations:
        return ""
    lines = [f"**{title}**"]
    for i, c in enumerate(citations, start=1):
        section = f" · {c.section}" if c.section else ""
        lines.append(f"{i}. p. {c.page}{section}: “{c.quote}”")
    return "\n".join(lines)


class AskPage(Page):
    id = "ask"
    title = "Ask the rules"
    _rules: tuple[Rulebooks, RulesQA] | None = None

    def rules(self) -> tuple[Rulebooks, RulesQA]:
        """The rulebooks and the rules Q&A, the same services the API and the CLI use."""
        if self._rules is None:  # heavy imports (models, LanceDB): on first use only
            from plugins.board_games.tools.rules_qa import rules_services

            self._rules = rules_services(self.studio.settings)
        return self._rules

    def layout(self) -> None:
        self.answer_state = gr.State(None)  # the last RulesAnswer, as a dict
        with gr.Row():
            self.game = gr.Dropdown(
                label="board game",
                choices=[],
                allow_custom_value=False,
                elem_id="ask-game",
                scale=3,
            )
            self.refresh_btn = gr.Button("↻", size="sm", scale=0, min_width=40)
        self._layout_bgg()
        self._layout_upload()
        self.chat = gr.Chatbot(
            label="rules Q&A",
            height=360,
            elem_id="ask-chat",
            feedback_options=None,
            buttons=["copy"],
        )
        with gr.Row():
            self.question = gr.Textbox(
                placeholder="Ask a rules question…",
                show_label=False,
                scale=5,
                elem_id="ask-question",
            )
            self.ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-run")
        with gr.Row():
            with gr.Column(scale=2):
                self._layout_feedback()
            with gr.Column(scale=3):
                self.page_image = gr.Image(
                    label="rulebook page",
                    type="pil",
                    interactive=False,
                    elem_id="ask-page",
                    height=520,
                )
        with gr.Accordion("Past questions about this game", open=False):
            self.past = gr.Dataframe(
                headers=PAST_COLUMNS, interactive=False, wrap=True, elem_id="ask-past"
            )
            self.past_ids = gr.State([])

    def _layout_bgg(self) -> None:
        with gr.Accordion("Find a game on BoardGameGeek", open=False, elem_id="ask-bgg-box"):
            with gr.Row():
                self.bgg_query = gr.Textbox(label="game name", elem_id="ask-bgg-query", scale=3)
                self.bgg_search_btn = gr.Button("Search", elem_id="ask-bgg-search", scale=0)
            with gr.Row():
                self.bgg_hits = gr.Dropdown(
                    label="results", choices=[], elem_id="ask-bgg-hits", scale=3
                )
                self.bgg_add_btn = gr.Button("Add to library", elem_id="ask-bgg-add", scale=0)
            self.bgg_status = gr.Markdown(elem_id="ask-bgg-status")

    def _layout_upload(self) -> None:
        with gr.Accordion("Add a rulebook (PDF)", open=False, elem_id="ask-upload-box"):
            with gr.Row():
                self.pdf = gr.File(label="rulebook PDF", file_types=[".pdf"], elem_id="ask-upload")
                self.new_game = gr.Textbox(
                    label="game name (empty: from the file name)", elem_id="ask-upload-game"
                )
            self.add_btn = gr.Button("Add and ingest", elem_id="ask-upload-run")
            self.ingest_status = gr.Markdown(elem_id="ask-upload-status")

    def _layout_feedback(self) -> None:
        self.citation = gr.Radio(
            label="citations: open one to see it on its page", choices=[], elem_id="ask-citations"
        )
        with gr.Row():
            self.up_btn = gr.Button("👍 helpful", size="sm", elem_id="ask-helpful")
            self.down_btn = gr.Button("👎 not helpful", size="sm", elem_id="ask-unhelpful")
            self.fav_btn = gr.Button("★ favorite", size="sm", elem_id="ask-favorite")
        self.notes = gr.Textbox(label="notes on this answer", lines=2, elem_id="ask-notes")
        self.feedback_status = gr.Markdown(elem_id="ask-feedback-status")

    def wire(self) -> None:
        game, past = self.game, [self.past, self.past_ids]
        self.refresh_btn.click(self.games, game, game)
        self.bgg_search_btn.click(self.bgg_search, self.bgg_query, [self.bgg_hits, self.bgg_status])
        self.bgg_query.submit(self.bgg_search, self.bgg_query, [self.bgg_hits, self.bgg_status])
        self.bgg_add_btn.click(self.bgg_add, self.bgg_hits, [self.bgg_status, game])
        self.add_btn.click(
            self.add_rulebook, [self.pdf, self.new_game], [self.ingest_status, game], **HEAVY
        )
        for trigger in (self.ask_btn.click, self.question.submit):
            trigger(
                self.ask,
                [self.question, game, self.chat],
                [self.chat, self.answer_state, self.citation, self.question],
                **HEAVY,
            ).then(self._past, game, past)
        self.citation.change(
            self.show_citation, [self.citation, self.answer_state], self.page_image
        )
        answer = [self.answer_state, self.notes]
        self.up_btn.click(self.feedback("helpful"), answer, self.feedback_status)
        self.down_btn.click(self.feedback("not_helpful"), answer, self.feedback_status)
        self.fav_btn.click(self.feedback(None, favorite=True), answer, self.feedback_status).then(
            self._past, game, past
        )
        self.notes.submit(self.feedback(None), answer, self.feedback_status)
        game.change(self._past, game, past)
        gr.on(None, self.games, None, game)  # fill the game list when the page opens

    # ---- games and past questions ------------------------------------------------------------
    @guarded
    def games(self, current: str | None = None) -> Any:
        rulebooks, _ = self.rules()
        ready = {d["board_game_id"]: d for d in rulebooks.list() if d["status"] == "ready"}
        with self.studio.store() as store:
            items = store.list("board_game", {"limit": 200, "sort": "name"}).items
        choices = [(g.name + ("" if g.id in ready else " (no rulebook yet)"), g.id) for g in items]
        ids = [c[1] for c in choices]
        value = current if current in ids else next((i for i in ids if i in ready), None)
        return gr.Dropdown(choices=choices, value=value)

    @guarded
    def _past(self, game_id: str | None) -> tuple[pd.DataFrame, list[str]]:
        if not game_id:
            return pd.DataFrame(columns=PAST_COLUMNS), []
        with self.studio.store() as store:
            links = [
                ln
                for ln in store.links("board_game", game_id)
                if ln.direction == "in" and ln.entity.kind == "qa"
            ]
        links.sort(key=lambda ln: (not ln.entity.favorite, -ln.entity.created_at.timestamp()))
        rows = [
            [
                "★" if ln.entity.favorite else "",
                ln.entity.created_at.strftime("%Y-%m-%d %H:%M"),
                ln.entity.data.get("question", ""),
                ln.entity.data.get("answer", "")[:200],
                ln.entity.data.get("feedback") or "",
                ln.entity.id,
            ]
            for ln in links[:100]
        ]
        return pd.DataFrame(rows, columns=PAST_COLUMNS), [r[-1] for r in rows]

    # ---- BoardGameGeek -----------------------------------------------------------------------
    def _bgg(self) -> Games:
        from plugins.board_games.tools.games import games_service

        return games_service(self.studio.settings)

    @guarded
    def bgg_search(self, query: str) -> tuple[Any, str]:
        hits = self._bgg().search(query)
        choices = [(f"{h.name} ({h.year or '?'}) · BGG {h.bgg_id}", h.bgg_id) for h in hits[:50]]
        return (
            gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
            f"{len(hits)} games found" if hits else "No game by that name on BoardGameGeek.",
        )

    @guarded
    def bgg_add(self, bgg_id: int | None) -> tuple[str, Any]:
        if not bgg_id:
            raise gr.Error("Search and pick a game first.")
        (game_entity,) = self._bgg().add([int(bgg_id)])
        d = game_entity.data
        return (
            f"✅ {game_entity.name} ({d.get('year_published') or '?'}) is in the library; "
            "BoardGameGeek offers no rulebook download, so add its PDF below.",
            self.games(game_entity.id),
        )

    # ---- upload + ingestion as a Dagster run -------------------------------------------------
    @guarded
    def add_rulebook(self, path: str | None, name: str) -> Iterator[Any]:
        from plugins.board_games.pipelines import ingest_rulebook
        from plugins.board_games.tools.rulebooks.service import INGEST_STEPS, ingest_progress

        if not path:
            raise gr.Error("Choose a PDF first.")
        rulebooks, _ = self.rules()
        src = Path(path)
        doc = rulebooks.add(src, game=name.strip() or None)
        sha = doc["sha256"]
        if doc["status"] == "ready":
            yield f"✅ {src.name} is already in the library.", self.games(doc["board_game_id"])
            return
        worker = Background(lambda: ingest_rulebook(self.studio.settings, sha, source="studio"))
        while worker.running:
            done, doing = ingest_progress(rulebooks.get(sha))
            steps = len(INGEST_STEPS)
            yield (
                (
                    f"⏳ Ingesting {src.name} as a Dagster run, step {min(done + 1, steps)} of "
                    f"{steps}: {doing} ({worker.seconds:.0f} s)"
                ),
                gr.skip(),
            )
            worker.wait(1.0)
        d = rulebooks.get(sha)
        link = self.studio.run_link(worker.result.run_id if worker.result else None)
        if d["status"] != "ready":
            raise gr.Error(f"{src.name} could not be ingested: {d['error'] or 'see the run'}")
        yield (
            (
                f"✅ {src.name}: {d['pages']} pages, {d['chunks']} chunks in "
                f"{worker.seconds:.1f} s{link}"
            ),
            self.games(d["board_game_id"]),
        )

    # ---- asking ------------------------------------------------------------------------------
    @guarded
    def ask(self, q: str, game_id: str | None, history: ChatHistory) -> Iterator[Any]:
        if not game_id:
            raise gr.Error("Pick a board game with a rulebook first.")
        if not q or len(q.strip()) < 3:
            raise gr.Error("Type a question (at least 3 characters).")
        _, qa = self.rules()
        history = [*history, {"role": "user", "content": q}]
        yield history, gr.skip(), gr.skip(), ""
        passages_md, written = "", ""
        for what, value in qa.ask_events(q, game_id):
            if what == "passages":
                passages_md = _cite_md(
                    value, "Best passages (verified), while the answer is written:"
                )
            elif what == "token":
                written += value
            else:
                answer: RulesAnswer = value
                yield (
                    [*history, {"role": "assistant", "content": _answer_md(answer)}],
                    answer.model_dump(mode="json"),
                    _choices(answer.citations or answer.passages),
                    "",
                )
                return
            body = "\n\n".join(part for part in (written and written + " …", passages_md) if part)
            shown = [*history, {"role": "assistant", "content": body or "…"}]
            yield (shown, gr.skip(), _choices(value) if what == "passages" else gr.skip(), "")

    @guarded
    def show_citation(self, index: int | None, answer: dict[str, Any] | None) -> Any:
        if index is None or not answer:
            return gr.skip()
        cites = answer["citations"] or answer["passages"]
        c = cites[int(index)]
        rulebooks, _ = self.rules()
        return render_page(rulebooks.pdf_path(c["document_sha256"]), c["page"], c["quote"])

    # ---- feedback ----------------------------------------------------------------------------
    def feedback(
        self, value: str | None, favorite: bool = False
    ) -> Callable[[dict[str, Any] | None, str], str]:
        """The handler of a feedback button: `value` saved as the answer's feedback, `favorite`
        toggled; the notes are saved with either."""

        @guarded
        def handler(answer: dict[str, Any] | None, note: str) -> str:
            return self.save_feedback(answer, note, value, favorite)

        return handler

    def save_feedback(
        self, answer: dict[str, Any] | None, note: str, value: str | None, favorite: bool
    ) -> str:
        if not answer or not answer.get("qa_id"):
            raise gr.Error("Ask a question first.")
        with self.studio.store() as store:
            qa = store.get("qa", answer["qa_id"])
            change: dict[str, Any] = {"data": {}}
            if value:
                change["data"]["feedback"] = value
            if note.strip():
                change["data"]["feedback_notes"] = note.strip()
            if favorite:
                change["favorite"] = not qa.favorite
            if not change["data"]:
                change.pop("data")
            store.update("qa", qa.id, change)
        if favorite:
            return "★ Saved as a favorite."
        return f"Thanks: saved as {value.replace('_', ' ')}." if value else "Notes saved."


def _answer_md(answer: RulesAnswer) -> str:
    """The finished answer in the chat: its text, citations (or closest passages) and figures."""
    body = answer.answer
    if answer.citations:
        body += "\n\n" + _cite_md(answer.citations, "Citations")
    elif answer.passages:
        body += "\n\n" + _cite_md(answer.passages, "Closest passages")
    return body + (
        f"\n\n<sub>confidence {answer.confidence:.2f} · {answer.latency_s:.1f} s · "
        f"{answer.model or answer.mode}</sub>"
    )


def _choices(cites: list[Citation]) -> Any:
    return gr.Radio(
        choices=[(f"p. {c.page} · {c.quote[:80]}", i) for i, c in enumerate(cites)], value=None
    )
