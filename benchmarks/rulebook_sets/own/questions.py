"""Write questions.jsonl for our OWN held-out-style rulebook set (same format as the DEV set).

    python questions.py

Fields per line: id, rulebook, game, question, answer, pages, answerable, kind, evidence
(evidence: verbatim snippets from the listed pages; omitted for unanswerable questions).
Kinds: fact, number, table, multi_page, edge_case, unanswerable. Questions are phrased the
way players ask them, not copied from the books. Check with
`python verify_questions.py .` (a copy of the shared dev-set verifier) after any edit.
Never tune on this set: it exists to check that settings tuned on DEV generalise.
"""

import json
from pathlib import Path

D, C, T = "own_draughts.pdf", "own_crazy_eights.pdf", "own_dominoes.pdf"
GD, GC, GT = "English Draughts (Checkers)", "Crazy Eights", "Dominoes (Block and Draw)"
NOT = "Not covered by the rulebook"

Q = [
    # ---- English draughts (9 pages)
    (
        "d01",
        D,
        "Which colour gets to make the opening move?",
        "The player with the dark pieces makes the first move.",
        [4],
        "fact",
        ["The player with the dark pieces makes the first move"],
    ),
    (
        "d02",
        D,
        "How many of the squares on the board do the pieces actually use?",
        "32: only the dark squares are used; pieces never stand on a light square.",
        [3],
        "number",
        ["Only the 32 dark squares are used"],
    ),
    (
        "d03",
        D,
        "Going by the square numbers, where do the light pieces start?",
        "On squares 21 to 32, three rows with 12 men.",
        [3],
        "table",
        ["Light 21 to 32 3 12 men"],
    ),
    (
        "d04",
        D,
        "My man jumped into the last row and got crowned. As a king it could now jump "
        "another piece - can it keep going this turn?",
        "No. Crowning ends the move; the new king may capture on a later turn.",
        [6, 9],
        "edge_case",
        [
            "the turn ends there, even if the new king would be able to jump again",
            "Crowning ends the move",
        ],
    ),
    (
        "d05",
        D,
        "I can either take one piece or do a jump sequence that takes three. Am I forced "
        "to go for the three?",
        "No. You may choose any available capture; you are not obliged to take the most pieces, "
        "but the sequence you choose must be completed.",
        [5, 9],
        "edge_case",
        [
            "you are not obliged to choose the capture that takes the most pieces",
            "you may choose freely among all available captures",
        ],
    ),
    (
        "d06",
        D,
        "My opponent didn't take a piece when they had to. Can I remove their piece as a "
        "punishment?",
        "No, huffing is not part of these rules. Point out the missed capture before replying: "
        "the move is taken back and a capture must be made instead. If you have already replied, "
        "the game continues as it stands.",
        [5],
        "edge_case",
        [
            "Huffing is not part of these rules",
            "the move is then taken back and a capture must be made instead",
        ],
    ),
    (
        "d07",
        D,
        "Can an ordinary uncrowned piece jump backwards to capture?",
        "No. A man may only capture forwards; only a king captures backwards.",
        [5, 7],
        "fact",
        ["A man may only capture forwards", "English 8 x 8 12 no no"],
    ),
    (
        "d08",
        D,
        "Someone claims a draw because nobody can win. How long does the other player get "
        "to prove otherwise?",
        "Forty moves by each player, in which they must show a clear gain by capturing a piece "
        "or crowning a man; otherwise the game is declared a draw.",
        [6],
        "number",
        ["show a clear gain within forty moves by each player"],
    ),
    (
        "d09",
        D,
        "What board and how many pieces per side does the international game use?",
        "A 10 x 10 board with 20 pieces each (men jump back and kings fly).",
        [7],
        "table",
        ["International 10 x 10 20 yes yes"],
    ),
    (
        "d10",
        D,
        "Which of the other national versions have kings that can fly?",
        "International, Russian and Pool checkers.",
        [7],
        "table",
        [
            "International 10 x 10 20 yes yes",
            "Russian 8 x 8 12 yes yes",
            "Pool checkers 8 x 8 12 yes yes",
        ],
    ),
    (
        "d11",
        D,
        "At a tournament, what do I get for a round where I have no opponent?",
        "A bye is worth 2 match points.",
        [8],
        "table",
        ["Bye (no opponent this round) 2"],
    ),
    (
        "d12",
        D,
        "How many openings are in the deck used for the tournament ballot?",
        "156 approved openings; the first three moves are drawn at random from the deck.",
        [8],
        "number",
        ["currently 156 cards"],
    ),
    (
        "d13",
        D,
        "Our set has red and white pieces instead of dark and light. Who starts?",
        "Red, because the darker side is treated as dark, and the player with the dark pieces "
        "makes the first move.",
        [3, 4],
        "multi_page",
        [
            "the darker side is treated as dark",
            "The player with the dark pieces makes the first move",
        ],
    ),
    (
        "d14",
        D,
        "What counts as winning a game, and how many match points is a win worth at a tournament?",
        "You win when your opponent has no pieces left or cannot make a legal move on their turn "
        "(or resigns); a win is worth 3 match points.",
        [6, 8],
        "multi_page",
        ["You win when your opponent has no pieces left on the board", "Win 3"],
    ),
    (
        "d15",
        D,
        "My time ran out, but my opponent is down to a single king. Have I lost?",
        "No. When the opponent has only a single king left, running out of time gives a draw.",
        [8],
        "edge_case",
        ["unless the opponent has only a single king left, in which case the game is drawn"],
    ),
    (
        "d16",
        D,
        "Two moves in we noticed the board is turned the wrong way round. Do we just carry on?",
        "No. The game must be restarted if the mistake is noticed before each player has made "
        "four moves; only after that does the game simply continue.",
        [4],
        "edge_case",
        ["must be restarted if the mistake is noticed before each player has made four moves"],
    ),
    (
        "d17",
        D,
        "How many pieces does each side get in Canadian checkers on the 12x12 board?",
        NOT + " (its variants table covers English, International, Russian, Italian and Pool "
        "checkers only).",
        [],
        "unanswerable",
        [],
    ),
    (
        "d18",
        D,
        "If we don't like the opening drawn in the tournament ballot, can we draw another one?",
        NOT + ".",
        [],
        "unanswerable",
        [],
    ),
    (
        "d19",
        D,
        "How late can I turn up for a tournament round before my game is forfeited?",
        NOT + " (it only scores a game not played as a forfeit).",
        [],
        "unanswerable",
        [],
    ),
    (
        "d20",
        D,
        "How big should the squares be on a board used in official events?",
        NOT + ".",
        [],
        "unanswerable",
        [],
    ),
    # ---- Crazy Eights (8 pages)
    (
        "c01",
        C,
        "There are four of us. How many cards does everybody get?",
        "5 cards each, from one pack.",
        [3],
        "table",
        ["4 1 5"],
    ),
    (
        "c02",
        C,
        "We have seven people. Is one deck enough, and how many cards each?",
        "No: shuffle two packs together, and deal 6 cards to each player.",
        [3],
        "table",
        ["7 2 6", "With six or seven players, shuffle two packs together"],
    ),
    (
        "c03",
        C,
        "The card turned up to start the pile is an eight. What do we do with it?",
        "Push it back into the middle of the stock and turn up a new starter; repeat until the "
        "starter is not an eight.",
        [4],
        "edge_case",
        ["If the starter is an eight, push it back into the middle of the stock"],
    ),
    (
        "c04",
        C,
        "Can I take a card from the pile even though I have something I could play?",
        "Yes. You may draw from the stock by choice even when you hold a playable card; the "
        "three-card limit still applies.",
        [4, 5],
        "edge_case",
        [
            "You may draw from the stock even when you hold a card that you could play",
            "If you cannot play, or choose not to, draw cards from the stock",
        ],
    ),
    (
        "c05",
        C,
        "How many cards do I pick up before I have to give up and pass?",
        "Three: once you have drawn three cards without playing, your turn ends and you pass.",
        [5],
        "number",
        ["Once you have drawn three cards without playing"],
    ),
    (
        "c06",
        C,
        "When I put down an eight, am I allowed to call the eight's own suit?",
        "Yes, you may name the suit of the eight itself or any other suit.",
        [5],
        "fact",
        ["You may name the suit of the eight itself or any other suit"],
    ),
    (
        "c07",
        C,
        "My final card is an eight. Do I still have to call a suit?",
        "No. Play it as usual; you have gone out and there is no need to name a suit.",
        [5],
        "edge_case",
        ["there is no need to name a suit"],
    ),
    (
        "c08",
        C,
        "The draw pile has run out. What happens now?",
        "Leave the top card of the discard pile, turn the rest face down, shuffle it and use it as "
        "the new stock. If only the top card is left, a player who cannot play simply passes.",
        [5],
        "fact",
        ["turn the rest of the discard pile face down, shuffle it and use it as the new stock"],
    ),
    (
        "c09",
        C,
        "What happens if I forget to warn everyone that I'm down to one card?",
        "If another player points it out before your next turn, you draw two cards from the stock "
        "as a penalty.",
        [6],
        "number",
        ["you draw two cards from the stock as a penalty"],
    ),
    (
        "c10",
        C,
        "Nobody can play, there's nothing to draw, and two of us are tied for the lowest "
        "count. Who gets the points?",
        "Nobody scores for that hand, and the deal passes to the left as usual.",
        [6],
        "edge_case",
        ["nobody scores for that hand"],
    ),
    (
        "c11",
        C,
        "If I'm caught holding an eight when someone goes out, how much does it cost me?",
        "50 points for each eight.",
        [7],
        "table",
        ["Each eight 50"],
    ),
    (
        "c12",
        C,
        "If the game gets stuck and I have the lowest count, how do I score, and what "
        "would a jack in someone's hand count for?",
        "You score the difference between your own count and each other player's count; a jack "
        "counts 10 points.",
        [6, 7],
        "multi_page",
        [
            "scores the difference between their own count and each other player's count",
            "King, queen or jack 10",
        ],
    ),
    (
        "c13",
        C,
        "With four players, how many cards do we start with and what score are we playing to?",
        "5 cards each from one pack; the target score is 200.",
        [3, 7],
        "multi_page",
        ["4 1 5", "4 200"],
    ),
    (
        "c14",
        C,
        "In the version with action cards, somebody hits me with a 2. Can I pass it on?",
        "Yes. In Switch you may play another 2, passing a draw of four cards to the next player; "
        "each further 2 adds two more cards. If you cannot add a 2, you draw the whole total and "
        "your turn ends.",
        [8],
        "edge_case",
        ["a player told to draw two may instead play another 2"],
    ),
    (
        "c15",
        C,
        "Which version makes the jacks wild?",
        "Crazy Jacks: jacks are wild instead of eights, and eights are ordinary cards worth 8 "
        "points.",
        [8],
        "table",
        ["Jacks are wild instead of eights"],
    ),
    (
        "c16",
        C,
        "I played an eight but the next person started before I said a suit. Which suit counts?",
        "The suit of the eight itself stands.",
        [8],
        "edge_case",
        ["the suit of the eight itself stands"],
    ),
    (
        "c17",
        C,
        "How many points is a joker worth if we add the jokers to the deck?",
        NOT + " (it never mentions jokers).",
        [],
        "unanswerable",
        [],
    ),
    (
        "c18",
        C,
        "What happens if the dealer gives someone one card too many?",
        NOT + " (no misdeal rule).",
        [],
        "unanswerable",
        [],
    ),
    (
        "c19",
        C,
        "Am I allowed to look back through the discard pile to see what has been played?",
        NOT + ".",
        [],
        "unanswerable",
        [],
    ),
    (
        "c20",
        C,
        "Is there a penalty for playing when it isn't your turn?",
        NOT + " (it only covers playing a card that does not match and forgetting to name a suit).",
        [],
        "unanswerable",
        [],
    ),
    # ---- Dominoes (9 pages; page 3 is image only)
    (
        "t01",
        T,
        "How many dominoes are in a double-six set?",
        "28 tiles, seven of them doubles.",
        [2],
        "number",
        ["so the set has 28 tiles"],
    ),
    (
        "t02",
        T,
        "Three of us are playing the draw version. How many tiles does each person take?",
        "6 tiles each; 10 stay in the boneyard.",
        [3],
        "table",
        ["3 7 6 10"],
    ),
    (
        "t03",
        T,
        "Nobody has the double-six at the start of the first hand. Who goes first?",
        "The holder of the next highest double sets that double; if no player holds any double, "
        "the tiles are washed again and new hands are drawn.",
        [3],
        "edge_case",
        ["the holder of the next highest double sets that double", "If no player holds any double"],
    ),
    (
        "t04",
        T,
        "In the block version I can't play. Can I take a tile from the spare pile?",
        "No. You pass, showing it by knocking twice on the table; in the Block game you never "
        "take tiles from the boneyard.",
        [4],
        "fact",
        ["in the Block game you never take tiles from the boneyard"],
    ),
    (
        "t05",
        T,
        "Two-player draw game: only two tiles are left to pick from and I can't play. "
        "Do I take them?",
        "No. With two players the last two tiles in the boneyard are never drawn; you knock and "
        "pass.",
        [5],
        "edge_case",
        ["the last two tiles in the boneyard are never drawn"],
    ),
    (
        "t06",
        T,
        "I drew from the boneyard even though one of my tiles fitted. What happens?",
        "That is not allowed: you keep the drawn tile and must still play a fitting tile from "
        "your hand.",
        [5],
        "edge_case",
        ["a player who does so keeps the drawn tile"],
    ),
    (
        "t07",
        T,
        "What is the double-blank worth when we count up at the end?",
        "Nothing: a blank end counts zero, so the double-blank is worth nothing.",
        [5],
        "fact",
        ["the double-blank is worth nothing"],
    ),
    (
        "t08",
        T,
        "The game is stuck and two of us have the same lowest number of pips. Who scores?",
        "Nobody scores for that hand; the player who set the first tile of the blocked hand sets "
        "first again in the next hand.",
        [6],
        "edge_case",
        ["nobody scores for that hand"],
    ),
    (
        "t09",
        T,
        "We only have time for a quick game. What score should we play to?",
        "61 points for a short game, usually 3 to 5 hands.",
        [6],
        "table",
        ["Short 61 3 to 5"],
    ),
    (
        "t10",
        T,
        "Two-player draw game: how many tiles are in the boneyard at the start, and can "
        "we draw all of them?",
        "14 tiles (7 each in hand); no, with two players the last two tiles in the boneyard are "
        "never drawn.",
        [3, 5],
        "multi_page",
        ["2 7 7 14", "the last two tiles in the boneyard are never drawn"],
    ),
    (
        "t11",
        T,
        "At a club tournament I go out and my opponents are left with the 5-3, the 2-0 "
        "and the double six. What goes on the score sheet for me?",
        "22 pips (8 + 2 + 12), which tournament rounding to the nearest multiple of five turns "
        "into 20 points.",
        [6, 8],
        "multi_page",
        ["Ann scores 8 + 2 + 12 = 22", "a hand worth 22 pips scores 20 points"],
    ),
    (
        "t12",
        T,
        "We lost a league match, but only narrowly. Do we get any league points?",
        "Yes, 1 league point for a loss by fewer than 50 points.",
        [8],
        "table",
        ["Loss by fewer than 50 points 1"],
    ),
    (
        "t13",
        T,
        "How long is a tournament match allowed to go on?",
        "At most 45 minutes; when time is called the hand in progress is finished and the higher "
        "total wins, with one more hand if the totals are level.",
        [8],
        "number",
        ["A match may last at most 45 minutes"],
    ),
    (
        "t14",
        T,
        "How do the tiles join up in Matador?",
        "Touching ends must add up to seven instead of matching.",
        [7],
        "table",
        ["Touching ends must add up to seven"],
    ),
    (
        "t15",
        T,
        "Playing in teams, when I go out do my partner's leftover tiles count against us?",
        "No. Your team scores the pips in both opponents' hands; the partner's remaining tiles are "
        "not counted.",
        [7],
        "edge_case",
        ["the partner's remaining tiles are not counted"],
    ),
    (
        "t16",
        T,
        "Does the double five count as 5 or as 10?",
        "10: a double counts the pips on both of its halves.",
        [9],
        "number",
        ["so the 5-5 is worth 10"],
    ),
    (
        "t17",
        T,
        "In a tournament, is there a time limit for each individual play?",
        NOT + " (it only limits a whole match to 45 minutes).",
        [],
        "unanswerable",
        [],
    ),
    (
        "t18",
        T,
        "What's the penalty if I accidentally show one of my tiles to the other players?",
        NOT + ".",
        [],
        "unanswerable",
        [],
    ),
    (
        "t19",
        T,
        "Do we rewash if one player draws five or more doubles?",
        NOT + " (it only rewashes when no player holds any double).",
        [],
        "unanswerable",
        [],
    ),
    (
        "t20",
        T,
        "How do we decide who partners with whom in a four-player game?",
        NOT + " (it only says partners sit opposite each other).",
        [],
        "unanswerable",
        [],
    ),
]

GAMES = {D: GD, C: GC, T: GT}


def main() -> None:
    out = Path(__file__).resolve().parent / "questions.jsonl"
    with open(out, "w") as f:
        for qid, book, q, a, pages, kind, ev in Q:
            rec = {
                "id": "own-" + qid,
                "rulebook": book,
                "game": GAMES[book],
                "question": q,
                "answer": a,
                "pages": pages,
                "answerable": bool(pages),
                "kind": kind,
            }
            if ev:
                rec["evidence"] = ev
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{len(Q)} questions -> {out}")


if __name__ == "__main__":
    main()
