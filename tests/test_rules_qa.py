"""Rules Q&A end to end on the dev rulebooks: ingestion service, retrieval, the model's reply,
verified citations, abstention, the extractive fallback, evaluation and the CLI."""

from __future__ import annotations

import json
import shutil
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from lifeos.db import migrate
from lifeos.db.engine import session_scope
from lifeos.errors import ConfigError, Conflict, LifeOSError, NotFound, RulebookError
from lifeos.llm.providers.base import ChatRequest, ProviderReply
from lifeos.llm.providers.local import LocalProvider
from lifeos.llm.router import Router
from lifeos.llm.toolkit import ToolConfigs
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.board_games.tools.rulebooks.evaluate import METRICS, evaluate, score, supported
from plugins.board_games.tools.rulebooks.retrieve import CORPUS, Hit
from plugins.board_games.tools.rulebooks.service import Rulebooks, file_sha256
from plugins.board_games.tools.rulebooks.text import sentences
from plugins.board_games.tools.rules_qa import ABSTAIN, RulesAnswer, RulesQA, RulesQuestion, verify
from tests.llm_helpers import copy_configs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rulebooks"
MILL = "Mill (Nine Men's Morris)"


class ScriptedChat(LocalProvider):
    """Real local embeddings; the model's replies come from a script (for the logic around
    them): a dict is the probabilities of a choice, a string the text of an answer."""

    def __init__(self) -> None:
        super().__init__(n_ctx=2048)
        self.replies: list[str | dict[str, float]] = []
        self.requests: list[ChatRequest] = []

    def chat(self, request: ChatRequest) -> ProviderReply:
        if not self.replies:
            return super().chat(request)
        self.requests.append(request)
        step = self.replies.pop(0)
        if isinstance(step, dict):
            assert request.choices, "the script expected a choice"
            probs = {c: step.get(c, 0.0) for c in request.choices}
            return ProviderReply(
                text=max(probs, key=probs.__getitem__),
                tokens_in=100,
                tokens_out=1,
                extra={"choice_probs": probs, "logprobs": True},
            )
        if request.on_token is not None:
            for piece in step.split(" "):
                request.on_token(piece + " ")
        return ProviderReply(text=step, tokens_in=100, tokens_out=10)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    home = tmp_path_factory.mktemp("qa-home")
    settings = Settings(home=home, LIFEOS_DATABASE_URL=f"sqlite:///{home / 'lifeos.db'}")
    migrate.upgrade(settings.database_url)
    config_dir = copy_configs(home / "configs")
    provider = ScriptedChat()
    router = Router(
        database_url=settings.database_url, config_dir=config_dir, providers={"local": provider}
    )
    rulebooks = Rulebooks(settings, router)
    for name, game in (("dev_morris.pdf", MILL), ("dev_hearts.pdf", "Hearts")):
        doc = rulebooks.add(DATA / name, game=game)
        rulebooks.ingest(doc["sha256"])
    qa = RulesQA(router=router, rulebooks=rulebooks, configs=ToolConfigs(config_dir / "tools"))
    return settings, rulebooks, qa, provider


def test_a_file_name_finds_the_game_it_spells(tmp_path: Path) -> None:
    from plugins.board_games.tools.rulebooks.service import _game_from_filename

    url = f"sqlite:///{tmp_path / 'lib.db'}"
    migrate.upgrade(url)
    with session_scope(url) as session:
        store = EntityStore(session)
        ids = {
            n: store.create("board_game", {"name": n}).id
            for n in ("Catan", "Catan: Seafarers", "Ticket to Ride", "Hearts")
        }
        assert _game_from_filename(session, "dev_hearts") == ids["Hearts"]
        assert _game_from_filename(session, "Catan_Rules_EN_v2.1") == ids["Catan"]
        assert _game_from_filename(session, "catan-seafarers-rulebook") == ids["Catan: Seafarers"]
        assert _game_from_filename(session, "ticket") == ids["Ticket to Ride"]
        assert _game_from_filename(session, "rules") is None
        assert _game_from_filename(session, "azul") is None


def assert_verified(answer: RulesAnswer, rulebooks: Rulebooks) -> None:
    for c in answer.citations:
        assert verify(c.quote, rulebooks.pages(c.document_sha256)[c.page - 1].markdown), c


def test_ingestion_registers_and_links_the_game(env) -> None:  # noqa: ANN001
    settings, rulebooks, _, _ = env
    docs = {d["filename"]: d for d in rulebooks.list()}
    morris = docs["dev_morris.pdf"]
    assert morris["status"] == "ready" and morris["pages"] == 10 and morris["chunks"] > 10
    assert morris["stats"]["tables"] == 2 and morris["stats"]["extractors"] == {
        "docling-native": 8,
        "docling-native+pdfplumber": 2,
    }
    assert rulebooks.vectors.count(CORPUS, morris["sha256"]) == morris["chunks"]
    with session_scope(settings.database_url) as session:
        game = EntityStore(session).get("board_game", morris["board_game_id"])
    assert game.name == MILL and game.data["rulebook_status"] == "ready"
    again = rulebooks.add(DATA / "dev_morris.pdf", game=MILL)  # the same file is one document
    assert again["sha256"] == morris["sha256"] and len(rulebooks.list()) == 2


def test_a_chunk_finds_its_section_and_reads_follow_changed_files(env) -> None:  # noqa: ANN001
    _, rulebooks, _, _ = env
    sha = next(d["sha256"] for d in rulebooks.list() if d["filename"] == "dev_morris.pdf")
    chunks = rulebooks.chunks(sha)
    assert rulebooks.chunks(sha) is chunks  # parsed once, not on every question
    key = next(c.section_key for c in chunks if c.kind == "table")
    section = rulebooks.section(sha, key)
    assert section and all(c.section_key == key for c in section)
    assert [c.ordinal for c in section] == sorted(c.ordinal for c in section)
    assert rulebooks.section(sha, "no such section") == []
    path = rulebooks.work_dir(sha) / "chunks.json"
    original = path.read_text()
    try:
        path.write_text(json.dumps([json.loads(original)[0]]))  # re-chunked: read anew
        assert len(rulebooks.chunks(sha)) == 1
    finally:
        path.write_text(original)
    assert len(rulebooks.chunks(sha)) == len(chunks)


def test_a_real_answer_cites_verified_pages(env) -> None:  # noqa: ANN001
    _, rulebooks, qa, _ = env
    answer = qa.run(
        {"question": "How many points does the queen of spades count?", "game": "Hearts"}
    )
    assert answer.retrieved_pages and answer.latency_s > 0
    assert answer.evidence is not None and 0.42 <= answer.evidence <= 1  # on topic
    if not answer.abstained:
        assert answer.citations and 0 < answer.confidence <= 1
    assert_verified(answer, rulebooks)


def test_off_topic_question_abstains_and_shows_closest_passages(env) -> None:  # noqa: ANN001
    _, rulebooks, qa, provider = env
    calls = len(provider.requests)
    answer = qa.run({"question": "What is the boiling point of water at sea level?", "game": MILL})
    assert answer.abstained and answer.answer == ABSTAIN and answer.mode == "abstained"
    assert answer.passages and not answer.citations
    assert len(provider.requests) == calls  # decided by retrieval, no model call
    assert answer.evidence is not None and answer.evidence < 0.42 and answer.p_none is None


def test_the_chosen_passage_is_answered_from_and_quoted(env) -> None:  # noqa: ANN001
    _, rulebooks, qa, provider = env
    provider.replies = [{"0": 0.05, "1": 0.85, "2": 0.1}, "The player with the light men."]
    streamed: list[str] = []
    answer = qa.run(
        {"question": "Who moves first in a game of Mill?", "game": MILL}, on_token=streamed.append
    )
    assert not answer.abstained and answer.answer == "The player with the light men."
    assert "".join(streamed).strip() == answer.answer
    assert len(answer.citations) == 1 and "light men" in answer.citations[0].quote
    assert_verified(answer, rulebooks)
    choose, follow = provider.requests[-2:]
    assert choose.choices == ["0", "1", "2", "3"]
    assert "[1] (page" in choose.messages[-1]["content"]
    assert "Question: Who moves first" in choose.messages[-1]["content"]
    # the follow-up extends the same conversation (the model's prompt cache holds it)
    assert follow.messages[:2] == choose.messages and not follow.choices
    assert follow.messages[2] == {"role": "assistant", "content": "1"}
    assert "passage 1" in follow.messages[3]["content"]
    assert "Question: Who moves first" in follow.messages[3]["content"]
    # the choice saw the passage trimmed to its best sentences; the answer gets it whole
    sha = next(d["sha256"] for d in rulebooks.list() if d["filename"] == "dev_morris.pdf")
    chunk = next(
        r["content"]
        for r in rulebooks.vectors.rows(CORPUS, sha)
        if "light men makes the first move" in r["content"]
    )
    assert chunk not in choose.messages[-1]["content"]
    assert f"Passage 1 in full: {chunk}" in follow.messages[3]["content"]


def test_passages_can_come_from_the_whole_section(env) -> None:  # noqa: ANN001
    """`passage_context: section` picks a passage's sentences from its whole section (the
    parent of the retrieved chunk), so a sibling chunk's sentence can be shown."""
    _, rulebooks, qa, _ = env
    sha = next(d["sha256"] for d in rulebooks.list() if d["filename"] == "dev_morris.pdf")
    by_section: dict[str, list] = {}
    for chunk in rulebooks.chunks(sha):
        by_section.setdefault(chunk.section_key, []).append(chunk)
    first, second = next(v for v in by_section.values() if len(v) > 1)[:2]
    rows = {r["ordinal"]: r for r in rulebooks.vectors.rows(CORPUS, sha)}
    hit = Hit(rows[first.ordinal], 1.0, 1, 1, 0.9)
    sibling = sentences(second.content)[-1]
    question = RulesQuestion(question=sibling, game=MILL)
    cfg = qa.configs.get("rules_qa")
    for context, shown in (("chunk", False), ("section", True)):
        wide = cfg.model_copy(
            update={
                "params": cfg.params.model_copy(
                    update={"passage_context": context, "passage_words": 400}
                )
            }
        )
        context_text = qa._context_text(hit, wide.params.passage_context)
        _, messages = qa._decision_prompt(question, [hit], [context_text], wide)
        assert (sibling in messages[-1]["content"].split("Question:")[0]) is shown, context


def test_a_table_and_the_sentence_leading_into_it_are_shown_together(env) -> None:  # noqa: ANN001
    """Tables are chunks of their own, so "... in a cycle of four:" and the table it leads
    into are two chunks; either one shown to the model comes with the other."""
    _, rulebooks, qa, _ = env
    sha = next(d["sha256"] for d in rulebooks.list() if d["filename"] == "dev_hearts.pdf")
    chunks = rulebooks.chunks(sha)
    lead, table = next(
        (a, b)
        for a, b in pairwise(chunks)
        if a.content.endswith(":") and b.kind == "table" and a.section_key == b.section_key
    )
    rows = {r["ordinal"]: r for r in rulebooks.vectors.rows(CORPUS, sha)}
    cfg = qa.configs.get("rules_qa")
    wide = cfg.model_copy(update={"params": cfg.params.model_copy(update={"passage_words": 400})})
    question = RulesQuestion(question="Which way do we pass on each hand?", game="Hearts")
    for shown, other in (
        (lead, table.content.splitlines()[-1]),
        (table, sentences(lead.content)[-1]),
    ):
        hit = Hit(rows[shown.ordinal], 1.0, 1, 1, 0.9)
        context_text = qa._context_text(hit, wide.params.passage_context)
        _, messages = qa._decision_prompt(question, [hit], [context_text], wide)
        assert other in messages[-1]["content"], shown.kind


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"abstain_margin": "-0.2x"}, "params.abstain_margin"),
        ({"passage_context": "chapter"}, "params.passage_context"),
        ({"prompt_passages": 12}, "params.prompt_passages"),
        ({"rrf_k": 0}, "params.rrf_k"),
        ({"min_similarty": 0.3}, "params.min_similarty: Extra inputs"),
    ],
)
def test_a_misspelt_or_impossible_setting_is_an_error_not_a_default(
    env, change: dict, message: str
) -> None:  # noqa: ANN001
    """A setting the tool would otherwise ignore, or read as its default, names itself."""
    _, _, qa, _ = env
    path = qa.configs.directory / "rules_qa.yaml"
    data = yaml.safe_load(path.read_text())
    assert qa.configs.validate_text("rules_qa", yaml.safe_dump(data)).params.top_k == 5
    data["params"].update(change)
    with pytest.raises(ConfigError) as err:
        qa.configs.validate_text("rules_qa", yaml.safe_dump(data))
    assert "rules_qa.yaml" in err.value.message and message in err.value.message


def test_model_abstains_when_no_passage_answers(env) -> None:  # noqa: ANN001
    _, _, qa, provider = env
    calls = len(provider.requests)
    provider.replies = [{"0": 0.9, "1": 0.05, "2": 0.05}]
    answer = qa.run({"question": "Who moves first in a game of Mill?", "game": MILL})
    assert answer.abstained and answer.model and answer.mode == "abstained"
    assert answer.passages and not answer.citations
    assert len(provider.requests) == calls + 1  # no answer is asked for


def test_a_choice_that_is_no_choice_gives_an_extractive_answer(env) -> None:  # noqa: ANN001
    _, rulebooks, qa, provider = env
    provider.replies = ["I think the first one"]  # a server without log-probabilities
    answer = qa.run({"question": "Who moves first in a game of Mill?", "game": MILL})
    assert answer.mode == "extractive" and answer.citations[0].quote == answer.answer
    assert_verified(answer, rulebooks)


@pytest.mark.parametrize(
    "reply",
    [
        "Not found in the rulebook.",
        "Passage 1 does not provide information on which player moves first.",
        "The passages do not mention who starts.",
        "Who moves first is not specified in passage 1.",
    ],
)
def test_an_answer_that_takes_it_back_is_extractive(env, reply: str) -> None:  # noqa: ANN001
    _, rulebooks, qa, provider = env
    provider.replies = [{"0": 0.1, "1": 0.8, "2": 0.1}, reply]
    answer = qa.run({"question": "Who moves first in a game of Mill?", "game": MILL})
    assert answer.mode == "extractive" and not answer.abstained and answer.confidence <= 0.6
    assert answer.citations[0].quote == answer.answer
    assert_verified(answer, rulebooks)


def test_an_answer_with_a_number_no_passage_holds_is_extractive(env) -> None:  # noqa: ANN001
    """A number the model wrote that neither the question nor any passage shown holds is not
    passed on: the answer is the passage's own sentence instead."""
    _, rulebooks, qa, provider = env
    question = "How many men does each player have?"
    provider.replies = [{"0": 0.05, "1": 0.85, "2": 0.1}, "Each player has 14 men."]
    answer = qa.run({"question": question, "game": MILL})
    assert answer.mode == "extractive" and "14" not in answer.answer
    assert answer.citations[0].quote == answer.answer
    assert_verified(answer, rulebooks)
    provider.replies = [{"0": 0.05, "1": 0.85, "2": 0.1}, "Each player has nine men."]
    answer = qa.run({"question": question, "game": MILL})
    assert answer.mode == "generative" and answer.answer == "Each player has nine men."


@pytest.mark.parametrize(
    ("text", "answer", "passages"),
    [
        ("Answer: The light player.\nPassages: 1, 3", "The light player.", [1, 3]),
        ("The light player moves first.", "The light player moves first.", []),
        (
            "answer: Yes, you may.\nIt breaks hearts.\npassages: 2",
            "Yes, you may. It breaks hearts.",
            [2],
        ),
        ('```json\n{"answer": "13", "passages": [2]}\n```', "13", [2]),
        ("  \n", None, None),
        ('{"answer": ', None, None),
        (
            'Passage 1 states that "you may choose freely among all captures.',
            "You may choose freely among all captures.",
            [],
        ),
        ("According to passage 2, each pit holds four seeds.", "Each pit holds four seeds.", []),
        (
            "Passage 1 directly answers the question by stating that four players play as "
            "two teams.",
            "Four players play as two teams.",
            [],
        ),
        ("The passage says: the dark player starts.", "The dark player starts.", []),
        ("In passages 1 and 3, nothing changes.", "Nothing changes.", []),
    ],
)
def test_plain_replies_are_read(text: str, answer: str | None, passages: list[int] | None) -> None:
    """The answer is plain text (no JSON grammar to pay for), labelled or not, without a lead-in
    that names a passage number the player never saw."""
    from plugins.board_games.tools.rules_qa import parse_reply

    reply = parse_reply(text)
    if answer:
        assert reply is not None and (reply.answer, reply.passages) == (answer, passages)
    else:
        assert reply is None


def test_the_answer_is_cited_where_it_is_stated(env) -> None:  # noqa: ANN001
    """The quote is the sentence among all passages shown that states the answer (here the
    only one with the answer's number), even when the model chose a neighbouring passage."""
    _, rulebooks, qa, provider = env
    provider.replies = [
        {"0": 0.1, "1": 0.3, "2": 0.3, "3": 0.3},
        "Answer: The queen of spades counts 13 penalty points.",
    ]
    answer = qa.run({"question": "How many points is the queen of spades?", "game": "Hearts"})
    assert not answer.abstained and "13" in answer.citations[0].quote
    assert answer.answer == "The queen of spades counts 13 penalty points."
    assert_verified(answer, rulebooks)


def test_numbers_match_whether_spelled_or_printed() -> None:
    from plugins.board_games.tools.rulebooks.text import numbers, words

    assert words("We are five players") & words("| 5 | 2 of clubs | 10 |") == {"5"}
    assert numbers("Four seeds in each of the twelve pits, 48 in all") == {"4", "12", "48"}
    assert "7" in words("see page 7") and "x" not in words("x marks it")


def test_a_table_row_is_quoted_with_its_header() -> None:
    """A row of numbers alone says nothing and a header alone answers nothing: each data row
    is quoted after its header, both parts verbatim and each verified on the page."""
    from plugins.board_games.tools.rulebooks.text import quotable

    page = (
        "## Scoring\nThe target depends on the players.\n| Players | Target score |\n"
        "|---|---|\n| 2 | 100 |\n| 4 | 200 |\nPlay on to the end."
    )
    quotes = quotable(page.split("\n", 1)[1])
    assert quotes == [
        "The target depends on the players.",
        "| Players | Target score | … | 2 | 100 |",
        "| Players | Target score | … | 4 | 200 |",
        "Play on to the end.",
    ]
    assert all(verify(q, page) for q in quotes)
    assert not verify("| Players | Target score | … | 4 | 300 |", page)
    assert not verify("| 4 | … | 2 |", page)  # too short to count as a quote


def test_a_count_in_the_question_picks_out_its_table_row() -> None:
    """A small model misreads grids of numbers row for row; the row that the question's count
    picks out (a number, a range, an open end), with its column names, it reads right."""
    from plugins.board_games.tools.rulebooks.text import table_row_for

    table = (
        "Deal as follows:\n| Players | Packs | Cards each |\n|---|---|---|\n"
        "| 2 | 1 | 7 |\n| 3-4 | 1 | 5 |\n| 5 to 6 | 2 | 6 |\n| 7 players or more | 2 | 5 |"
    )
    assert (
        table_row_for(table, "There are four of us. How many cards each?")
        == "Players: 3-4; Packs: 1; Cards each: 5"
    )
    assert (
        table_row_for(table, "For a six-player game?") == "Players: 5 to 6; Packs: 2; Cards each: 6"
    )
    assert (
        table_row_for(table, "We are 9 people")
        == "Players: 7 players or more; Packs: 2; Cards each: 5"
    )
    assert table_row_for(table, "How many cards does each player get?") is None  # no count
    assert table_row_for(table, "Two or three players?") is None  # two rows: ambiguous
    assert table_row_for(table, "In the 2nd round?") is None  # an ordinal is no count
    assert table_row_for("Two players each take 7 cards.", "two players?") is None  # no table


def test_the_answer_step_gets_the_table_row_the_question_picks_out(env) -> None:  # noqa: ANN001
    from plugins.board_games.tools.rulebooks.retrieve import retrieve

    _, _, qa, provider = env
    question = "We are five players. How many cards does each of us get?"
    params = qa.configs.get("rules_qa").params
    _, documents = qa.rulebooks.documents_for_game("Hearts")
    hits = retrieve(
        question, router=qa.router, store=qa.rulebooks.vectors, documents=documents, config=params
    )[: params.prompt_passages]
    n = next(
        i
        for i, h in enumerate(hits, 1)
        if h.row["kind"] == "table" and "Cards removed" in h.row["content"]
    )
    other = next(
        i
        for i, h in enumerate(hits, 1)  # from another section than the table's
        if h.row["section_key"] != hits[n - 1].row["section_key"]
    )
    row = (
        "The table row for this question: Players: 5; Cards removed before the deal: 2 of "
        "diamonds, 2 of clubs; Cards per player: 10"
    )
    # the table chosen; another passage chosen with the table nearly as likely (the row
    # still comes); another passage chosen far above the table (no row)
    for choice, given in (
        ({"0": 0.1, str(n): 0.8}, True),
        ({"0": 0.1, str(other): 0.45, str(n): 0.4}, True),
        ({"0": 0.1, str(other): 0.85, str(n): 0.05}, False),
    ):
        provider.replies = [choice, "Each player gets 10 cards."]
        answer = qa.run({"question": question, "game": "Hearts"})
        assert (row in provider.requests[-1].messages[-1]["content"]) is given, choice
        assert answer.citations[0].quote.endswith("| 5 | 2 of diamonds, 2 of clubs | 10 |")


def test_a_game_without_a_ready_rulebook_says_why(env, monkeypatch) -> None:  # noqa: ANN001
    """Unknown game, no rulebook, one still being ingested (what a player meets who asks
    while `make run` ingests the demo's), one that failed or was interrupted: each error says
    which."""
    settings, rulebooks, qa, _ = env
    ask = {"question": "Who starts?", "game": "Go"}
    with pytest.raises(NotFound, match="no board game"):
        qa.run({"question": "Who starts?", "game": "Twilight Imperium"})
    with session_scope(settings.database_url) as session:
        EntityStore(session).create("board_game", {"name": "Go"})
    with pytest.raises(NotFound, match="'Go' has no rulebook yet"):
        qa.run(ask)
    sha = rulebooks.add(DATA / "dev_kalah.pdf", game="Go")["sha256"]
    with pytest.raises(
        Conflict,
        match=r"dev_kalah.pdf\) is still being ingested \(queued, "
        rf"last progress \d+ s ago\).+reindex {sha[:12]}",
    ):
        qa.run(ask)

    # Ctrl-C while embedding: the rulebook is marked failed, not left "processing" for ever
    def interrupt(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(rulebooks.router, "embed", interrupt)
        with pytest.raises(KeyboardInterrupt):
            rulebooks.ingest(sha)
    assert rulebooks.get(sha)["error"] == "interrupted before it finished"
    with pytest.raises(NotFound, match=rf"could not be ingested: interrupted .+ {sha[:12]}"):
        qa.run(ask)
    original = rulebooks.pdf_path(sha).read_bytes()
    rulebooks.pdf_path(sha).write_bytes(b"%PDF-1.7\n")  # the stored copy damaged on disk
    with pytest.raises(LifeOSError):
        rulebooks.ingest(sha)
    with pytest.raises(NotFound, match=rf"could not be ingested: .+ reindex {sha[:12]}"):
        qa.run(ask)
    rulebooks.pdf_path(sha).write_bytes(original)  # retried: ready, and answers again
    assert rulebooks.ingest(sha)["status"] == "ready"
    assert not qa.run(ask).abstained


@pytest.mark.parametrize(
    ("quote", "ok"),
    [
        ("The player with the light men makes the first move", True),
        ("the  player with the LIGHT men\nmakes the first move", True),
        ("The player with the dark men makes the first move", False),
        ("light", False),  # too short to count as a quote
    ],
)
def test_quote_verification(env, quote: str, ok: bool) -> None:  # noqa: ANN001
    _, rulebooks, _, _ = env
    sha = file_sha256(DATA / "dev_morris.pdf")
    assert verify(quote, rulebooks.pages(sha)[3].markdown) is ok
    assert verify("rule-\nbook", "the rulebook says") is False  # shorter than 12 characters
    assert verify("See the rule-\nbook appendix", "see the rulebook appendix here") is True


def test_bad_files_are_refused_before_anything_is_stored(env, tmp_path: Path) -> None:  # noqa: ANN001
    _, rulebooks, _, _ = env
    bad = tmp_path / "broken.pdf"
    bad.write_bytes((DATA / "dev_hearts.pdf").read_bytes()[:2000])
    before = rulebooks.list()
    with pytest.raises(RulebookError, match="damaged"):
        rulebooks.add(bad)
    assert rulebooks.list() == before


def test_score_counts_what_the_issue_asks_for() -> None:
    from plugins.board_games.tools.rulebooks.evaluate import Question
    from plugins.board_games.tools.rules_qa import Citation

    def q(i: str, pages: list[int], answer: str = "Three men") -> Question:
        return Question(i, "b.pdf", "G", "?", answer, pages, bool(pages), "fact")

    def a(pages: list[int], abstained: bool = False, text: str = "three men") -> RulesAnswer:
        cites = [Citation(page=p, quote=text, document_sha256="0" * 64) for p in pages]
        return RulesAnswer(
            question="?",
            answer=ABSTAIN if abstained else text,
            abstained=abstained,
            citations=cites,
            confidence=0.5,
            retrieved_pages=[*pages, 9],
            latency_s=1.0,
        )

    metrics = score(
        [q("1", [3]), q("2", [4]), q("3", [])],
        [a([3]), a([], abstained=True), a([], abstained=True)],
    )
    assert set(METRICS) <= set(metrics)
    assert metrics["citation_page_accuracy"] == 1.0 and metrics["answer_correctness"] == 0.5
    assert metrics["abstention_precision"] == 0.5 and metrics["abstention_recall"] == 1.0
    assert metrics["false_abstention_rate"] == 0.5 and metrics["recall_at_1"] == 0.5
    assert supported("24 points", a([3], text="there are 24 points"))
    assert not supported("24 points", a([3], text="there are 12 points"))


@pytest.mark.slow
def test_evaluate_a_small_question_set(env, tmp_path: Path) -> None:  # noqa: ANN001
    _, rulebooks, qa, _ = env
    folder = tmp_path / "set"
    folder.mkdir()
    shutil.copy(DATA / "dev_hearts.pdf", folder)
    lines = [
        ln for ln in (DATA / "questions.jsonl").read_text().splitlines() if '"dev_hearts.pdf"' in ln
    ][:4]
    # A question that names the game otherwise than the book's first question is asked under
    # the book's name.
    lines[3] = lines[3].replace('"game": "Hearts"', '"game": "Hearts (card game)"')
    # A book that cannot be ingested fails its own question, not the run, and counts against
    # the metrics (it is no abstention).
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    lines.append(
        json.dumps(
            {
                "id": "x1",
                "rulebook": "broken.pdf",
                "game": "Broken Game",
                "question": "Who starts?",
                "answer": "The dealer.",
                "pages": [1],
                "answerable": True,
                "kind": "fact",
            }
        )
    )
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n")
    said: list[str] = []
    metrics, rows = evaluate(folder, rulebooks, qa, progress=said.append)
    assert metrics["n_questions"] == 5 and rows.height == 5
    assert 0 <= metrics["recall_at_5"] <= 1
    assert rows["evidence"].drop_nulls().is_between(0, 1).all()
    assert (rows["mode"] == "error").sum() == 1
    failed = rows.filter(rows["id"] == "x1").row(0, named=True)
    assert (
        failed["mode"] == "error" and not failed["abstained"] and "Broken Game" in failed["answer"]
    )
    assert any("broken.pdf could not be ingested" in line and "damaged" in line for line in said)


@pytest.mark.slow
def test_cli_add_ask_eval(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from apps.cli import main

    assert (
        main(["rulebook", "add", str(DATA / "dev_hearts.pdf"), "--game", "Hearts", "--json"]) == 0
    )
    said = capsys.readouterr()
    doc = json.loads(said.out)  # the progress bar is on stderr, the output alone on stdout
    assert doc["status"] == "ready" and doc["pages"] == 8
    assert "dev_hearts.pdf: ready: 8 pages" in said.err and "3/3" in said.err
    # --no-wait: registered for its game, handed to the inbox sensor
    assert (
        main(
            [
                "rulebook",
                "add",
                str(DATA / "dev_kalah.pdf"),
                "--game",
                "Kalah",
                "--no-wait",
                "--json",
            ]
        )
        == 0
    )
    queued = json.loads(capsys.readouterr().out)
    from lifeos.settings import get_settings

    assert queued["status"] == "queued"
    assert (get_settings().inbox_dir / "dev_kalah.pdf").is_file()
    assert (
        main(["ask", "How many points is the queen of spades worth?", "--game", "Hearts", "--json"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["retrieved_pages"] and "answer" in answer
    assert main(["entity", "links", "qa", answer["qa_id"], "--json"]) == 0
    links = json.loads(capsys.readouterr().out)
    assert links[0]["relation"] == "about" and links[0]["entity"]["name"] == "Hearts"
    assert main(["rulebook", "reindex", doc["sha256"][:12], "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [d["status"] for d in again] == ["ready"] and again[0]["chunks"] == doc["chunks"]
    assert main(["rulebook", "reindex", "0" * 64]) == 1
    assert "0 rulebooks match" in capsys.readouterr().err
    assert main(["ask", "Who starts?", "--game", "Nope"]) == 1
    assert "no board game" in capsys.readouterr().err
    assert main(["ask", "", "--game", "Hearts"]) == 1  # one line, not a traceback
    assert (
        capsys.readouterr().err.strip()
        == "error: input.question: String should have at least 3 characters"
    )
    assert main(["rulebook", "add", str(tmp_path / "missing.pdf")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["rulebook", "add", str(tmp_path)]) == 1
    assert "is a folder: add its PDFs one at a time, or copy them into" in capsys.readouterr().err


@pytest.mark.slow
def test_api_ask_saves_a_qa_entity(sqlite_url: str, lifeos_home: Path) -> None:
    from fastapi.testclient import TestClient

    from apps.api.app import create_app

    # The API loads its models and opens the vector index as it starts; an alias that cannot
    # load does not stop the rest.
    settings = Settings(
        home=lifeos_home,
        LIFEOS_DATABASE_URL=sqlite_url,
        preload_models=["no-such-alias", "embed", "default"],
    )
    app = create_app(settings)
    with TestClient(app) as client:
        from lifeos.llm.router import get_router

        app.state.preloading.join(timeout=120)
        assert set(app.state.preloaded) == {"embed", "default", "vector index"}
        assert get_router(sqlite_url).warm("default") == 0  # loaded already
        books = Rulebooks(settings, get_router(sqlite_url))
        books.ingest(books.add(DATA / "dev_hearts.pdf", game="Hearts")["sha256"])
        r = client.post(
            "/api/v1/rules/ask", json={"question": "Who leads the first trick?", "game": "Hearts"}
        )
        assert r.status_code == 200, r.text
        qa = client.get(f"/api/v1/entities/qa/{r.json()['qa_id']}").json()
        assert qa["data"]["context_type"] == "rulebook"
        assert qa["data"]["question"] == "Who leads the first trick?"
        missing = client.post("/api/v1/rules/ask", json={"question": "Who starts?", "game": "Nope"})
        assert missing.status_code == 404
        # the same answer as Server-Sent Events: passages first, the answer last
        with client.stream(
            "POST",
            "/api/v1/rules/ask/stream",
            json={"question": "How many points is the queen of spades worth?", "game": "Hearts"},
        ) as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["content-type"].startswith("text/event-stream")
            events = [
                (
                    block.split("\n")[0].removeprefix("event: "),
                    json.loads(block.split("\n")[1].removeprefix("data: ")),
                )
                for block in streamed.read().decode().split("\n\n")
                if block
            ]
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "passages" and kinds[-1] == "answer" and kinds.count("answer") == 1
        assert set(kinds[1:-1]) <= {"token"} and events[0][1][0]["page"] > 0
        final = events[-1][1]
        assert final["qa_id"] and final["citations"][0]["page"] == 6, final
        written = "".join(data["text"] for kind, data in events if kind == "token")
        assert written.strip() == final["answer"] or final["mode"] != "generative"
        no_game = client.post(
            "/api/v1/rules/ask/stream", json={"question": "Who starts?", "game": "Nope"}
        )
        assert no_game.status_code == 404
        assert "no board game" in no_game.json()["error"]["message"]
        assert client.get("/api/v1/rulebooks").json()[0]["status"] == "ready"


def test_a_table_quote_is_highlighted_part_by_part() -> None:
    """The studio highlights a quote on the page image; a table row's quote has two parts
    (header and row) that stand apart on the page, and each is found and marked."""
    from PIL import ImageChops

    from plugins.board_games.studio.ask import render_page

    pdf = DATA / "dev_hearts.pdf"
    plain = render_page(pdf, 6, "no such words on this page at all")
    header = render_page(pdf, 6, "| Card taken in a trick | Penalty points |")
    both = render_page(
        pdf, 6, "| Card taken in a trick | Penalty points | … | Queen of spades | 13 |"
    )
    assert ImageChops.difference(plain, header).getbbox() is not None
    marked, header_only = (ImageChops.difference(plain, im).getbbox() for im in (both, header))
    assert marked is not None and header_only is not None
    assert marked[3] > header_only[3]  # the row below the header is marked too


def test_a_page_shown_again_comes_from_the_rendered_pages_cache() -> None:
    from PIL import ImageChops

    from lifeos.metrics import CACHE
    from plugins.board_games.studio.ask import render_page

    def lookups(result: str) -> float:
        return CACHE.labels("rendered_pages", result)._value.get()

    pdf, quote = DATA / "dev_hearts.pdf", "| Card taken in a trick | Penalty points |"
    hits, misses = lookups("hit"), lookups("miss")
    first = render_page(pdf, 5, quote)
    assert (lookups("hit"), lookups("miss")) == (hits, misses + 1)
    first.paste((0, 0, 0), (0, 0, 50, 50))  # a caller's copy: drawing on it changes no cache
    again = render_page(pdf, 5, quote)
    assert (lookups("hit"), lookups("miss")) == (hits + 1, misses + 1)
    assert ImageChops.difference(again, render_page(pdf, 5, quote)).getbbox() is None
    assert ImageChops.difference(again, first).getbbox() is not None


def test_a_quote_with_a_word_broken_on_the_page_is_highlighted(tmp_path: Path) -> None:
    """Quotes join words the page breaks over two lines ("oppo-" "nent"); the highlight
    still finds them."""
    from PIL import ImageChops

    from plugins.board_games.studio.ask import render_page
    from tests.rulebook_pdfs import make_messy_rulebook

    pdf = make_messy_rulebook(tmp_path / "book.pdf")
    plain = render_page(pdf, 1, "no such words on this page at all")
    marked = render_page(pdf, 1, "whenever an opponent lights a lantern, the active player")
    box = ImageChops.difference(plain, marked).getbbox()
    assert box is not None and box[3] - box[1] > 25  # both lines of it


def test_a_quote_on_a_print_pdf_is_highlighted_where_it_stands(tmp_path: Path) -> None:
    """A print PDF's media box holds the bleed around the page the image shows: the highlight
    is drawn in the image's frame, where the words are."""
    import pypdf
    from PIL import ImageChops
    from pypdf.generic import RectangleObject

    from plugins.board_games.studio.ask import render_page

    writer = pypdf.PdfWriter(clone_from=DATA / "dev_hearts.pdf")
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        page.mediabox = RectangleObject([-30, -30, width + 30, height + 30])
        page.cropbox = RectangleObject([0, 0, width, height])
    writer.write(tmp_path / "print.pdf")
    quote = "| Card taken in a trick | Penalty points |"
    boxes = [
        ImageChops.difference(
            render_page(pdf, 6, "no such words at all"), render_page(pdf, 6, quote)
        ).getbbox()
        for pdf in (DATA / "dev_hearts.pdf", tmp_path / "print.pdf")
    ]
    assert boxes[0] is not None and boxes[0] == boxes[1]
