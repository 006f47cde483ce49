"""Rules Q&A: answers with page citations whose quotes are verified against the page, or an
honest "I don't see this in the rulebook".

1. Hybrid retrieval over the game's rulebook chunks (`tools/rulebooks/retrieve.py`).
2. The model sees the best passages (trimmed to their most relevant sentences) and is asked
   which one answers, "0" for none. Its probabilities for the replies 0..N are read from one
   forward pass (`Router.choose`), not sampled: the tool abstains when P(none) minus the best
   passage's similarity (that of the chunk or of its closest sentence, whichever is higher)
   reaches a threshold, since the model's doubt and the retrieval's distance together separate
   answerable questions better than either alone.
3. Otherwise the model answers in a sentence or two from the chosen passage, in the same
   conversation (the prompt cache holds step 2, so only the follow-up is read: the question
   again, and the chosen passage whole where trimming left sentences out); plain text,
   streamed to `on_token`, with no grammar to pay for (~40 ms a token on a CPU).
4. Quotes are taken verbatim from the passages in code: the sentence that best states the
   answer (its words and numbers, then the question's), where the passages the model chose
   count in its favour but do not decide alone, since small models often choose a
   neighbouring passage. Each quote is verified against the cited page's text; with none left
   the tool abstains and shows the closest passages.
5. If the answer cannot be read, says the passage does not answer after all, or states a number
   that no passage shown holds, the answer is extractive: the best sentence of the chosen
   passages. Confidence comes from retrieval similarity, the model's probabilities and
   verification, not from what the model writes.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from lifeos.errors import InvalidModelOutput
from lifeos.llm.router import Router
from lifeos.llm.toolkit import Tool, ToolConfig, ToolConfigs, check_template, render
from plugins.board_games.tools.rulebooks.retrieve import EMBED_ALIAS, Hit, RetrievalConfig, retrieve
from plugins.board_games.tools.rulebooks.service import Rulebooks
from plugins.board_games.tools.rulebooks.text import (
    ELLIPSIS,
    best_sentences,
    normalize,
    numbers,
    quotable,
    sentences,
    table_row_for,
    words,
)

ABSTAIN = "I don't see this in the rulebook."


class Citation(BaseModel):
    page: int
    section: str = ""
    quote: str
    document_sha256: str
    verified: bool = True


class _Candidate(Citation):
    picked: bool = False


class RulesAnswer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Citation] = Field(default_factory=list, description="closest passages")
    confidence: float
    model: str = ""
    mode: str = "generative"  # generative | extractive | abstained | error (in evals)
    latency_s: float = 0.0
    p_none: float | None = Field(
        None, description="the model's probability that no passage answers (None: it was not asked)"
    )
    evidence: float | None = Field(
        None,
        description="how close the best passage comes to the "
        "question: cosine similarity of its chunk or closest sentence",
    )
    retrieved_pages: list[int] = Field(default_factory=list)
    board_game_id: str = ""
    qa_id: str | None = None


class RulesQuestion(BaseModel):
    question: str = Field(min_length=3, max_length=1000)
    game: str = Field(min_length=1, max_length=200)


class _ModelReply(BaseModel):
    answer: str = Field(max_length=600)
    passages: list[int] = Field(default_factory=list, max_length=5)

    @property
    def says_not_found(self) -> bool:
        """The answer takes the choice back ("Passage 1 does not provide information on ...")."""
        return NOT_FOUND.search(normalize(self.answer)) is not None


NOT_FOUND = re.compile(
    r"^not found|not in the (rulebook|passages?)|no information|\b(does|do|did) not "
    r"(say|answer|provide|mention|specify|state|contain|cover|address)\b|\bnot "
    r"(mentioned|specified|stated|covered|addressed)\b"
)


REPLY_LINE = re.compile(r"^\W*(answer|passages?)\W*:\s*(.*)$", re.IGNORECASE)
# "Passage 1 states that ...", "According to passage 2, ...": the player never saw the numbers.
LEAD_IN = re.compile(
    r"^((according to|as (stated|said|mentioned) in|based on|in) (the )?"
    r"passages? \d+( and \d+)?,?|(the )?passages? \d* ?((directly |clearly )?"
    r"answers the question by (stating|saying)|states|says|mentions|"
    r"explains|indicates|tells us)( that)?:?)\s*",
    re.IGNORECASE,
)


def parse_reply(text: str) -> _ModelReply | None:
    """The model's reply: its answer, optionally labelled "Answer:", optionally followed by
    "Passages: 1, 3" (JSON with the keys answer and passages is read too). None when there is
    no answer in it."""
    text = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    if text.startswith("{"):
        try:
            return _ModelReply.model_validate_json(text)
        except ValueError:
            return None
    answer: list[str] = []
    named: list[int] = []
    for line in text.splitlines():
        found = REPLY_LINE.match(line.strip())
        if found and found.group(1).lower().startswith("passage"):
            named = [int(n) for n in re.findall(r"\d+", found.group(2))]
            break
        if found:
            answer = [found.group(2)]
        elif line.strip():
            answer.append(line.strip())
    said = LEAD_IN.sub("", " ".join(answer).strip()).strip().strip('"').strip()
    if not said:
        return None
    said = said[0].upper() + said[1:]
    return _ModelReply(answer=said[:600], passages=named[:5])


def invented_numbers(answer: str, question: str, shown: list[Hit]) -> set[str]:
    """Numbers the answer states that neither the question nor any passage the model saw
    holds: a small model asked "how many" writes a plausible number more readily than it says
    it cannot tell. "One" is left out: it is an article as often as a number ("no one")."""
    known = numbers(question).union(*(numbers(h.row["content"]) for h in shown))
    return numbers(answer) - known - {"1"}


def verify(quote: str, page_text: str) -> bool:
    """Every part of the quote is on the page (a table row is quoted with its header: two
    parts joined by an ellipsis); whitespace, case and hyphenation do not count."""
    return _on_page(quote, normalize(page_text))


def _on_page(quote: str, page: str) -> bool:
    """`verify` against a page already normalised (one page, many candidate sentences)."""
    parts = [normalize(part) for part in quote.split(ELLIPSIS)]
    return sum(map(len, parts)) >= 12 and all(part and part in page for part in parts)


class RulesQAParams(RetrievalConfig):
    """`params` of rules_qa.yaml: retrieval's settings and the Q&A's own. A misspelt or
    out-of-range setting is an error when the file is read, not a silent default."""

    prompt_passages: int = Field(
        3,
        ge=1,
        le=9,
        description=(
            "passages given to the model (each ~80 prompt tokens); the replies 0..N are read as "
            "single tokens, so at most 9"
        ),
    )
    passage_words: int = Field(
        60,
        ge=10,
        le=1000,
        description=("each passage is trimmed around its best sentences to this many words"),
    )
    passage_context: Literal["chunk", "section"] = Field(
        "chunk",
        description=(
            "take those sentences from the retrieved chunk or from its whole section "
            "(parent / child)"
        ),
    )
    min_similarity: float = Field(
        0.42,
        ge=-1,
        le=1,
        description=("the best passage's similarity below this: abstain without asking the model"),
    )
    abstain_margin: float = Field(
        -0.21,
        ge=-2,
        le=2,
        description=("P(no passage answers) - best similarity at or above this: abstain"),
    )


class RulesQAConfig(ToolConfig):
    """`configs/tools/rules_qa.yaml`: `user` asks which passage answers (a number, 0 for
    none); `answer` is the follow-up that asks for the answer from the chosen passage."""

    answer: str = Field(
        description="Jinja2 template of the follow-up asking for the answer "
        "(variables: those of `user`, and n, the chosen passage)"
    )
    params: RulesQAParams = Field(default_factory=RulesQAParams)  # type: ignore[assignment]
    _answer_compiles = field_validator("answer")(check_template)


@dataclass
class RulesQA(Tool[RulesQuestion, RulesAnswer]):
    """Not a single-call tool: retrieval, a choice read from the model's next-token
    probabilities, a short answer, then quotes chosen and verified in code."""

    name = "rules_qa"
    description = "answer a rules question with verified page citations, or abstain"
    Input = RulesQuestion
    Output = RulesAnswer
    config_model = RulesQAConfig

    router: Router
    rulebooks: Rulebooks = None  # type: ignore[assignment]  # default: the settings' library
    configs: ToolConfigs = None  # type: ignore[assignment]  # default: the router's configs
    last_result: Any = None

    def __post_init__(self) -> None:
        if self.configs is None:
            self.configs = ToolConfigs(self.router.config_dir / "tools")
        if self.rulebooks is None:
            from lifeos.settings import get_settings

            self.rulebooks = Rulebooks(get_settings(), self.router)

    def run(
        self,
        inp: RulesQuestion | dict[str, Any],
        *,
        on_passages: Callable[[list[Citation]], None] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> RulesAnswer:
        """Answer one question. `on_passages` gets the best verified passages as soon as
        retrieval has them, before the model is asked (the studio shows them at once);
        `on_token` gets the answer's text as the model writes it."""
        q = self.parse_input(inp)
        started = time.perf_counter()
        cfg = self.configs.get(self.name)
        params = cfg.params
        game_id, documents = self.rulebooks.documents_for_game(q.game)
        hits = retrieve(
            q.question,
            router=self.router,
            store=self.rulebooks.vectors,
            documents=documents,
            config=params,
        )
        closest = [self._citation(h, q.question, "") for h in hits[:3]]
        base: dict[str, Any] = {
            "question": q.question,
            "passages": [c for c in closest if c],
            "retrieved_pages": [h.page for h in hits],
        }
        if on_passages is not None:
            on_passages(base["passages"])
        best_sim = max((h.evidence for h in hits), default=0.0)
        base["evidence"] = round(best_sim, 4)
        if not hits or best_sim < params.min_similarity:
            return self._done(
                RulesAnswer(
                    **base,
                    answer=ABSTAIN,
                    abstained=True,
                    confidence=round(1 - best_sim, 3),
                    mode="abstained",
                ),
                started,
                game_id,
            )
        shown = hits[: params.prompt_passages]
        contexts = [self._context_text(h, params.passage_context) for h in shown]
        variables, messages = self._decision_prompt(q, shown, contexts, cfg)
        # 1. Which passage answers, as probabilities from one forward pass ("0": none does).
        try:
            choice = self.router.choose(
                messages, [str(i) for i in range(len(shown) + 1)], cfg.model, tool=self.name
            )
        except InvalidModelOutput as exc:  # a reply that is no choice (no log-probabilities)
            return self._done(
                self._extractive(
                    base, shown, q.question, best_sim, str((exc.details or {}).get("model", ""))
                ),
                started,
                game_id,
            )
        p_none = base["p_none"] = round(choice.probs["0"], 4)
        answers = sorted(range(1, len(shown) + 1), key=lambda n: -choice.probs[str(n)])
        # The model's doubt and the retrieval's distance, together: either alone misjudges
        # more questions (docs/journal/2026-11-26-0840-rules-qa-dev-set.md).
        margin = p_none - best_sim
        if margin >= params.abstain_margin:
            return self._done(
                RulesAnswer(
                    **base,
                    answer=ABSTAIN,
                    abstained=True,
                    model=choice.model,
                    mode="abstained",
                    confidence=round(min(1.0, 0.5 + margin), 3),
                ),
                started,
                game_id,
            )
        best = answers[0]
        picked = [
            shown[n - 1] for n in answers if choice.probs[str(n)] >= 0.5 * choice.probs[str(best)]
        ]
        # 2. The answer, in the same conversation: the model's prompt cache holds step 1, so
        # only the follow-up is read before the answer is written.
        # `full`: the chosen passage whole, where trimming it for the choice left sentences out
        # (the one that states the answer may share no word with the question).
        content = contexts[best - 1]
        full = (
            content
            if len(content.split()) > len(variables["passages"][best - 1]["text"].split())
            else ""
        )
        row = self._table_row(
            shown[best - 1],
            content,
            q.question,
            [contexts[n - 1] for n in answers[1 : len(picked)]],
        )
        follow = [
            *messages,
            {"role": "assistant", "content": str(best)},
            {
                "role": "user",
                "content": render(
                    cfg.answer,
                    {**variables, "n": best, "full": full, "row": row},
                    where=f"{self._config_file}: answer",
                ),
            },
        ]
        result = self.router.chat(
            follow,
            cfg.model,
            tool=self.name,
            stream=on_token is not None,
            on_token=on_token,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
        )
        reply = parse_reply(result.text)
        if (
            reply is None
            or reply.says_not_found
            or invented_numbers(reply.answer, q.question, shown)
        ):
            return self._done(
                self._extractive(base, picked, q.question, best_sim, result.model), started, game_id
            )
        citations = self._cite(shown, picked, q.question, reply.answer)
        if not citations:
            return self._done(
                RulesAnswer(
                    **base,
                    answer=ABSTAIN,
                    abstained=True,
                    model=result.model,
                    confidence=0.3,
                    mode="abstained",
                ),
                started,
                game_id,
            )
        cited = [
            h
            for h in shown
            if any(h.page == c.page and h.row["document"] == c.document_sha256 for c in citations)
        ]
        confidence = min(1.0, 0.15 + 0.5 * max(h.evidence for h in cited) + 0.35 * (1 - p_none))
        return self._done(
            RulesAnswer(
                **base,
                answer=reply.answer.strip(),
                abstained=False,
                citations=citations,
                confidence=round(confidence, 3),
                model=result.model,
            ),
            started,
            game_id,
        )

    @property
    def _config_file(self) -> str:
        """Where the templates come from, for template errors."""
        return str(self.configs.directory / f"{self.name}.yaml")

    def _decision_prompt(
        self, q: RulesQuestion, shown: list[Hit], contexts: list[str], cfg: RulesQAConfig
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The template variables and the messages asking which passage answers. Each passage
        is its most relevant sentences within `passage_words`, taken from its context: the
        retrieved chunk or, with `passage_context: section`, the whole section around it
        (parent / child; `_context_text`)."""
        target = words(q.question)
        passages = [
            {
                "n": i + 1,
                "page": h.page,
                "section": h.row.get("section", ""),
                "text": " ".join(best_sentences(context, target, cfg.params.passage_words)),
            }
            for i, (h, context) in enumerate(zip(shown, contexts, strict=True))
        ]
        variables = {"question": q.question, "game": q.game, "passages": passages}
        where = self._config_file
        return variables, [
            {"role": "system", "content": render(cfg.system, variables, where=f"{where}: system")},
            {"role": "user", "content": render(cfg.user, variables, where=f"{where}: user")},
        ]

    def _context_text(self, hit: Hit, context: str) -> str:
        """The text a passage is taken from: the chunk, or its whole section. A chunk that
        leads into a table ("... scores, according to this table:") comes with the table, and
        a table with the sentence that leads into it: the chunker keeps tables apart, and
        neither half says the rule alone."""
        content = str(hit.row["content"])
        key = hit.row.get("section_key")
        if not key:
            return content
        section = self.rulebooks.section(hit.row["document"], key)
        if context == "section" and section:
            return "\n".join(c.content for c in section)
        at = next((i for i, c in enumerate(section) if c.ordinal == hit.row.get("ordinal")), None)
        if at is None:
            return content
        if (
            content.rstrip().endswith(":")
            and at + 1 < len(section)
            and section[at + 1].kind == "table"
        ):
            return f"{content}\n{section[at + 1].content}"
        if (
            hit.row.get("kind") == "table"
            and at > 0
            and section[at - 1].content.rstrip().endswith(":")
        ):
            return f"{sentences(section[at - 1].content)[-1]}\n{content}"
        return content

    def _table_row(self, hit: Hit, content: str, question: str, others: list[str]) -> str:
        """The row of a table that a count in the question picks out ("four of us" → the
        row for 4 players): from the chosen passage, else from its section (the passage may
        be the sentence about the table: "remove the cards listed in the table"), else from
        the other passages the model nearly chose (`others`, likeliest first)."""

        def places() -> Iterator[str]:  # read the section only when the passage has no row
            yield content
            if key := hit.row.get("section_key"):
                yield "\n\n".join(
                    c.content
                    for c in self.rulebooks.section(hit.row["document"], key)
                    if c.kind == "table"
                )
            yield from others

        return next((row for text in places() if (row := table_row_for(text, question))), "")

    def _extractive(
        self, base: dict[str, Any], shown: list[Hit], question: str, best_sim: float, model: str
    ) -> RulesAnswer:
        citation = self._citation(shown[0], question, "")
        if citation is None:
            return RulesAnswer(
                **base,
                answer=ABSTAIN,
                abstained=True,
                confidence=0.3,
                model=model,
                mode="abstained",
            )
        return RulesAnswer(
            **base,
            answer=citation.quote,
            abstained=False,
            citations=[citation],
            confidence=round(min(0.6, best_sim), 3),
            model=model,
            mode="extractive",
        )

    def _citation(self, hit: Hit, question: str, answer: str) -> Citation | None:
        """The passage's sentence that best matches question and answer, verified on its page."""
        found = self._ranked_sentences([hit], set(), question, answer)
        return found[0][1] if found else None

    def _cite(
        self, shown: list[Hit], picked: list[Hit], question: str, answer: str
    ) -> list[Citation]:
        """The sentence that best states the answer among all the passages the model saw, and
        the best one of each other passage it picked when that one states the answer nearly
        as well (an answer spread over two pages cites both)."""
        ranked = self._ranked_sentences(shown, set(map(id, picked)), question, answer)
        if not ranked:
            return []
        top_score, top = ranked[0]
        out = [top]
        for score, citation in ranked[1:]:
            if len(out) == 3 or score < 0.6 * top_score:
                break
            if citation.picked and all(
                c.page != citation.page or c.document_sha256 != citation.document_sha256
                for c in out
            ):
                out.append(citation)
        return [Citation(**c.model_dump(exclude={"picked"})) for c in out]

    def _ranked_sentences(
        self, hits: list[Hit], picked: set[int], question: str, answer: str
    ) -> list[tuple[float, _Candidate]]:
        """Verified sentences of `hits`, best first. What the answer adds to the question counts
        most (its numbers above all): the quote should be the sentence that states the answer,
        not the one that repeats the question, and words the answer merely echoes from the
        question say nothing about where the answer is. A passage the model picked gets the
        weight of one added answer word; retrieval rank breaks ties."""
        asked = words(question)
        said, stated = words(answer) - asked, numbers(answer) - asked
        out: list[tuple[float, int, _Candidate]] = []
        for rank, hit in enumerate(hits):
            page = normalize(self._page_text(hit))
            chosen = id(hit) in picked
            for sentence in quotable(hit.row["content"]):
                found = words(sentence)
                score = (
                    len(found & asked)
                    + 2 * len(found & said)
                    + 3 * len(stated & found)  # stated holds only numbers
                    + (2 if chosen else 0)
                )
                if score > 0 and _on_page(sentence, page):
                    out.append(
                        (
                            score,
                            rank,
                            _Candidate(
                                page=hit.page,
                                section=hit.row.get("section", ""),
                                quote=sentence,
                                document_sha256=hit.row["document"],
                                picked=chosen,
                            ),
                        )
                    )
        out.sort(key=lambda item: (-item[0], item[1]))
        return [(score, candidate) for score, _, candidate in out]

    def _page_text(self, hit: Hit) -> str:
        pages = self.rulebooks.pages(hit.row["document"])
        return "\n".join(pages[p - 1].markdown for p in hit.row["pages"] if p <= len(pages))

    def _done(self, answer: RulesAnswer, started: float, game_id: str) -> RulesAnswer:
        answer.latency_s = round(time.perf_counter() - started, 3)
        answer.board_game_id = game_id
        return answer

    def warm(self) -> float:
        """Load the embedder and the chat model an answer needs now, not in the first question
        (a local chat model takes seconds to load). The seconds it took."""
        return self.router.warm(EMBED_ALIAS) + self.router.warm(self.configs.get(self.name).model)

    def ask(
        self,
        question: str,
        game: str,
        *,
        on_passages: Callable[[list[Citation]], None] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> RulesAnswer:
        """Answer and keep the answer as a `qa` entity (what the CLI, API and studio do)."""
        answer = self.run(
            {"question": question, "game": game}, on_passages=on_passages, on_token=on_token
        )
        answer.qa_id = record_answer(self.rulebooks.url, answer, game_id=answer.board_game_id)
        return answer

    def ask_events(self, question: str, game: str) -> Iterator[tuple[str, Any]]:
        """`ask` as it happens, for a screen to follow: ("passages", [Citation]) as soon as
        retrieval has them, ("token", str) as the answer is written, then ("answer",
        RulesAnswer), the last event. The work runs in a thread; an error it meets is raised
        here, before the first event when the question cannot be asked at all (no such game,
        no rulebook ready). The answer is saved even if the caller stops listening."""
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                events.put(
                    (
                        "answer",
                        self.ask(
                            question,
                            game,
                            on_passages=lambda p: events.put(("passages", p)),
                            on_token=lambda t: events.put(("token", t)),
                        ),
                    )
                )
            except Exception as exc:  # noqa: BLE001 - raised in the caller's thread
                events.put(("error", exc))

        threading.Thread(target=work, name="rules-qa", daemon=True).start()
        while True:
            what, value = events.get()
            if what == "error":
                raise value
            yield what, value
            if what == "answer":
                return


def record_answer(url: str, answer: RulesAnswer, *, game_id: str) -> str:
    """Save an answer as a `qa` entity linked to its board game (feedback is added later)."""
    from lifeos.db.engine import session_scope
    from lifeos.store import EntityStore

    with session_scope(url) as session:
        store = EntityStore(session)
        qa = store.create(
            "qa",
            {
                "name": answer.question[:200],
                "data": {
                    "question": answer.question,
                    "answer": answer.answer,
                    "context_type": "rulebook",
                    "abstained": answer.abstained,
                    "confidence": answer.confidence,
                    "model": answer.model[:200],
                    "latency_s": answer.latency_s,
                    "citations": [
                        {
                            "page": c.page,
                            "section": c.section[:200],
                            "quote": c.quote,
                            "document_sha256": c.document_sha256,
                        }
                        for c in answer.citations
                    ],
                },
            },
        )
        store.link("qa", qa.id, {"relation": "about", "target_id": game_id})
    return qa.id


def rules_services(settings: Any) -> tuple[Rulebooks, RulesQA]:
    """The rulebook service and the Q&A tool over one library (CLI, API)."""
    from lifeos.llm.router import get_router

    rulebooks = Rulebooks(settings, get_router(settings.database_url))
    return rulebooks, RulesQA(router=rulebooks.router, rulebooks=rulebooks)
