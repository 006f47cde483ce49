"""Build our OWN held-out-style rulebooks (original text written for this project).

    python make_rulebooks.py OUTDIR        (normally: python make_rulebooks.py .)

Writes own_draughts.pdf (English draughts / checkers, a board game), own_crazy_eights.pdf
(Crazy Eights, a card game) and own_dominoes.pdf (Block and Draw dominoes, a tile game),
typeset like the shared DEV books with rbgen.py (a copy of the dev-set typesetter).
Page 3 of own_dominoes.pdf is rasterised (image only, no text layer); its true text is
written to page_text_fallback.json for verify_questions.py, exactly as the DEV set does.

Needs reportlab, pypdf and pypdfium2. This set is never used for tuning: it only checks
that settings tuned on DEV generalise to unseen books made the same way.
"""

import io
import json
import sys
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).resolve().parent))
# rbgen.py beside this script, found through the sys.path entry above (mypy follows none)
from rbgen import build  # type: ignore[import-not-found]  # noqa: E402

EDITION = (
    "Rulebook edition 2026 &#183; text written for the project's own rulebook Q&amp;A test set"
)

# --------------------------------------------------------------------------------------------
# English draughts (board game), 9 pages
# --------------------------------------------------------------------------------------------
DRAUGHTS = [
    (
        "title",
        "DRAUGHTS",
        "English Draughts, also known as Checkers",
        [
            "2 players &#183; ages 7 and up &#183; 20-40 minutes",
            "Complete rules, national variants, match play and a glossary",
            EDITION,
        ],
    ),
    # page 2
    ("h1", "Contents"),
    (
        "ul",
        [
            "About the game",
            "The board and the pieces",
            "Setting up",
            "Moving",
            "Capturing",
            "Kings",
            "Winning and drawn games",
            "Variants",
            "Match and tournament play",
            "Questions from players",
            "Glossary",
        ],
    ),
    ("h1", "About the Game"),
    (
        "p",
        "Draughts is played on the same chequered board as chess, but with identical round "
        "pieces and only a handful of rules. Under the name Checkers it is a fixture of "
        "kitchen tables across North America, while in Britain and Ireland it has always "
        "been called draughts. The version in this booklet is English draughts, the form "
        "used in British and American championship play since the nineteenth century.",
    ),
    (
        "p",
        "Each player starts with twelve pieces. Pieces move diagonally, always on the dark "
        "squares, and capture by jumping over an enemy piece. A man that reaches the far "
        "side of the board is crowned and becomes a king, which may also move backwards. "
        "Although the rules fit on a single page, the game has been studied for centuries "
        "and has a large literature of openings and endings.",
    ),
    (
        "box",
        "Goal of the game",
        "Capture all of your opponent's pieces, or leave your opponent without a legal move when "
        "it is their turn.",
    ),
    ("h2", "How this booklet is organised"),
    (
        "p",
        "Chapters 1 to 6 give the complete rules of play. Chapter 7 compares other national "
        "forms of the game, chapter 8 covers match and tournament play, and the last pages "
        "answer questions that often come up at the board.",
    ),
    ("page",),
    # page 3
    ("h1", "1. The Board and the Pieces"),
    (
        "ul",
        [
            "1 board of 64 squares in eight rows of eight, coloured alternately dark and light",
            "12 dark pieces and 12 light pieces, flat and round, stackable",
            "this rulebook",
        ],
    ),
    (
        "p",
        "Only the 32 dark squares are used; pieces never stand on a light square. The board "
        "is placed so that each player has a dark square at the corner nearest their left "
        "hand. This corner is called the <b>single corner</b>. The two dark squares at the "
        "opposite, right-hand corner form the <b>double corner</b>.",
    ),
    (
        "p",
        "For recording games the dark squares are numbered from 1 to 32, row by row, "
        "starting from the row nearest the dark player. The starting position is therefore "
        "easy to describe:",
    ),
    (
        "table",
        [
            ["Side", "Squares", "Rows", "Pieces"],
            ["Dark", "1 to 12", "3", "12 men"],
            ["Light", "21 to 32", "3", "12 men"],
            ["Empty at the start", "13 to 20", "2", "none"],
        ],
        [30, 18, 14, 20],
    ),
    (
        "p",
        "A piece that has not been crowned is called a <b>man</b>. A crowned piece is a "
        "<b>king</b>; it is made by stacking two men of the same colour, one on top of the "
        "other, and it is moved as a single piece.",
    ),
    (
        "p",
        "Many sets have black and white or red and white pieces instead of dark and light "
        "ones. Whatever the actual colours, the darker side is treated as dark for every "
        "rule in this booklet.",
    ),
    ("page",),
    # page 4
    ("h1", "2. Setting Up"),
    (
        "ol",
        [
            "Place the board between the players with a dark square in each player's near "
            "left-hand corner.",
            "Each player places twelve men on the dark squares of the three rows nearest to "
            "them. The two middle rows stay empty.",
            "Decide who takes the dark pieces by any fair method, such as hiding a man of each "
            "colour in closed hands. The player with the dark pieces makes the first move.",
            "From then on the players move alternately, one move per turn.",
        ],
    ),
    (
        "p",
        "In a series of games the players change colours after every game, so each of them "
        "makes the first move equally often.",
    ),
    (
        "box",
        "Check the board",
        "If the double corner is on your left, the board has been turned the wrong way. A game "
        "started on a wrongly placed board must be restarted if the mistake is noticed before "
        "each player has made four moves; after that the game simply continues.",
    ),
    ("h1", "3. Moving"),
    (
        "p",
        "A man moves one square diagonally forward to an empty dark square. Men never move "
        "sideways or backwards, and no piece may move onto a square that is already "
        "occupied.",
    ),
    (
        "p",
        "You must move on your turn. Passing is not allowed, even when every move you have "
        "is a bad one.",
    ),
    ("h2", "Touch and move"),
    (
        "p",
        "If you touch one of your own pieces that can legally move, you must move that "
        "piece. To straighten a piece on its square without being bound to move it, say "
        '"I adjust" before touching it. In friendly games this rule is often relaxed, '
        "but it always applies in match play.",
    ),
    ("page",),
    # page 5
    ("h1", "4. Capturing"),
    (
        "p",
        "If an enemy piece stands diagonally next to one of your pieces and the square "
        "directly beyond it on the same diagonal is empty, you may jump over the enemy piece "
        "into that empty square. The piece you jumped over is captured and taken off the "
        "board.",
    ),
    ("p", "A man may only capture forwards. A king may capture both forwards and backwards."),
    ("h2", "Capturing is compulsory"),
    (
        "p",
        "Whenever you can capture, you must capture. If more than one capture is available "
        "you may choose any of them; you are <b>not</b> obliged to choose the capture that "
        "takes the most pieces.",
    ),
    ("h2", "Multiple jumps"),
    (
        "p",
        "If the capturing piece lands on a square from which it can jump again, it must "
        "carry on jumping in the same turn, changing direction if necessary, until no "
        "further capture is possible. Once you begin a sequence you must finish it: you may "
        "not stop half way to keep your piece out of danger.",
    ),
    (
        "p",
        "Captured pieces are lifted off the board only when the whole sequence is over. A "
        "piece cannot be jumped twice in the same sequence.",
    ),
    (
        "box",
        "No huffing",
        'Old rules let a player remove ("huff") an enemy piece that had failed to make a '
        "compulsory capture. Huffing is not part of these rules. If a player moves without "
        "making a capture that was available, the opponent may point it out before replying; "
        "the move is then taken back and a capture must be made instead. If the opponent has "
        "already replied, the game continues as it stands.",
    ),
    ("page",),
    # page 6
    ("h1", "5. Kings"),
    (
        "p",
        "When a man reaches the row farthest from its owner, called the <b>king row</b>, it "
        "is crowned: your opponent places one of your captured men on top of it to make a "
        "king. If none of your men has been captured yet, any spare marker will do.",
    ),
    (
        "p",
        "A king moves one square diagonally, forwards or backwards, and captures forwards "
        "or backwards. Kings in English draughts do not fly: they move and capture one "
        "square at a time, never across several empty squares.",
    ),
    ("h2", "Crowning ends the move"),
    (
        "p",
        "A man that reaches the king row by a capture is crowned, and the turn ends there, "
        "even if the new king would be able to jump again. It may go on capturing on a "
        "later turn. A king that passes through the king row during a multiple jump is "
        "already a king and simply carries on.",
    ),
    ("h1", "6. Winning and Drawn Games"),
    (
        "p",
        "You win when your opponent has no pieces left on the board, or when it is their "
        "turn and none of their pieces can make a legal move. A player may also resign at "
        "any time; a resignation counts as a loss.",
    ),
    ("h2", "Draws"),
    (
        "p",
        "The players may agree a draw at any point. A game is also drawn when the same "
        "position occurs for the third time with the same player to move.",
    ),
    (
        "p",
        "If one player believes that neither side can win, they may claim a draw. The "
        "opponent must then show a clear gain within forty moves by each player, either by "
        "capturing a piece or by crowning a man. If no such gain is made, the game is "
        "declared a draw.",
    ),
    ("page",),
    # page 7
    ("h1", "7. Variants"),
    (
        "p",
        "Draughts is played in many countries, and each has its own rules. The table "
        "compares the forms most often met. Apart from the points shown, they follow the "
        "ideas in this booklet: diagonal moves, compulsory capture and promotion on the far "
        "row.",
    ),
    (
        "table",
        [
            ["Version", "Board", "Pieces each", "Men jump back", "Flying kings"],
            ["English", "8 x 8", "12", "no", "no"],
            ["International", "10 x 10", "20", "yes", "yes"],
            ["Russian", "8 x 8", "12", "yes", "yes"],
            ["Italian", "8 x 8", "12", "no", "no"],
            ["Pool checkers", "8 x 8", "12", "yes", "yes"],
        ],
        [24, 14, 14, 15, 15],
    ),
    (
        "p",
        "A <b>flying king</b> moves any number of empty squares along a diagonal, and may "
        "capture a piece at a distance. In International and Italian draughts you must "
        "choose the capture that takes the most pieces, unlike the English game.",
    ),
    ("h2", "Giveaway"),
    (
        "p",
        "In giveaway, sometimes called losing draughts, all the normal rules apply but the "
        "aim is reversed: the first player to lose all their pieces, or to be left without "
        "a legal move, wins the game. Compulsory capture is what makes giveaway "
        "interesting, because you can force your opponent to take your pieces.",
    ),
    ("h2", "Short games for beginners"),
    (
        "p",
        "For a first lesson, play on the same board with only the two rows nearest each "
        "player filled, eight men a side. The game is shorter, and crowning happens early, "
        "so new players quickly learn how kings move.",
    ),
    ("page",),
    # page 8
    ("h1", "8. Match and Tournament Play"),
    ("h2", "The opening ballot"),
    (
        "p",
        "Strong players know the standard openings in great depth, so championship games do "
        "not start freely. Before each pair of games the first three moves (dark, light, "
        "dark) are drawn at random from a deck of approved openings, currently 156 cards. "
        "The two players then play two games with that opening, each taking the dark "
        "pieces once.",
    ),
    ("h2", "Match points"),
    (
        "table",
        [
            ["Result", "Match points"],
            ["Win", "3"],
            ["Draw", "1"],
            ["Loss", "0"],
            ["Bye (no opponent this round)", "2"],
            ["Game not played (forfeit)", "0, opponent scores 3"],
        ],
        [45, 35],
    ),
    (
        "p",
        "Ties in the final standings are broken first by the number of games won, then by "
        "the results of the games between the tied players.",
    ),
    ("h2", "Clocks"),
    (
        "p",
        "When clocks are used, each player has 30 minutes for the first 30 moves, and then "
        "10 further minutes for every 10 moves after that. A player who runs out of time "
        "loses the game, unless the opponent has only a single king left, in which case "
        "the game is drawn.",
    ),
    ("h2", "Recording the moves"),
    (
        "p",
        "In tournament games both players write down every move. A plain move is written "
        "as the numbers of its starting and finishing squares joined by a dash, for "
        "example 11-15. A capture is written with a cross instead, for example 15x24, and "
        "in a multiple jump every landing square is listed, as in 15x24x31.",
    ),
    ("page",),
    # page 9
    ("h1", "9. Questions from Players"),
    ("h2", "My man was crowned by a jump. Can it jump again straight away?"),
    (
        "p",
        "No. Crowning ends the move. The new king may capture on your next turn if the "
        "chance is still there.",
    ),
    ("h2", "I can capture with either of two pieces. Must I pick the bigger capture?"),
    (
        "p",
        "No. In English draughts you may choose freely among all available captures, but "
        "the sequence you choose must be completed.",
    ),
    ("h2", "Can a piece jump two enemy pieces standing next to each other?"),
    (
        "p",
        "No. The landing square must be the empty square directly beyond the captured "
        "piece, so two pieces standing one behind the other on a diagonal cannot be jumped "
        "together. They protect each other along that line.",
    ),
    ("h2", "Is a king harder to capture than a man?"),
    (
        "p",
        "No. A king is captured exactly like a man, with a single jump, and it leaves the "
        "board as one piece.",
    ),
    ("h1", "Glossary"),
    (
        "p",
        "<b>Double corner</b>: the two dark squares in each player's right-hand corner. "
        "<b>Huff</b>: an obsolete penalty for failing to capture. "
        "<b>King row</b>: the row farthest from a player, where that player's men are "
        "crowned. <b>Man</b>: an uncrowned piece. <b>Single corner</b>: the dark square in "
        "each player's near left-hand corner.",
    ),
]

# --------------------------------------------------------------------------------------------
# Crazy Eights (card game), 8 pages
# --------------------------------------------------------------------------------------------
EIGHTS = [
    (
        "title",
        "CRAZY EIGHTS",
        "A Shedding Card Game for Two to Seven Players",
        [
            "2 to 7 players &#183; ages 6 and up &#183; 15-30 minutes",
            "Uses one standard 52-card deck, or two decks for six or seven players",
            EDITION,
        ],
    ),
    # page 2
    ("h1", "Contents"),
    (
        "ul",
        [
            "Overview",
            "The deck and the deal",
            "Starting the discard pile",
            "Playing a turn",
            "Eights",
            "When you cannot play",
            "Going out and blocked hands",
            "Scoring",
            "Variants",
            "Penalties and etiquette",
            "Glossary",
        ],
    ),
    ("h1", "Overview"),
    (
        "p",
        "Crazy Eights is a shedding game: the aim of each hand is to be the first to get rid "
        "of all your cards. Cards are played onto a single face-up discard pile, and each "
        "card must match the one before it in suit or in rank. The eights are wild and can "
        "be played at almost any moment, which is where the game gets its name.",
    ),
    (
        "p",
        "A game consists of several hands. The player who goes out in a hand scores points "
        "for the cards left in the other players' hands, and the first player to reach the "
        "target score wins the game. The game is also known as Switch or Swedish Rummy, "
        "although Switch usually means the version with action cards described in the "
        "Variants chapter.",
    ),
    (
        "box",
        "Goal of the game",
        "In each hand, be the first to play every card you hold. Over a whole game, be the first "
        "to reach the target score.",
    ),
    ("page",),
    # page 3
    ("h1", "1. The Deck and the Deal"),
    (
        "p",
        "Crazy Eights uses a standard pack of 52 cards. Cards have no ranking order in this "
        "game: an ace is simply an ace, and a king is no higher than a three. Only suits "
        "and ranks matter for matching.",
    ),
    (
        "p",
        "The number of cards dealt depends on the number of players. With six or seven "
        "players, shuffle two packs together.",
    ),
    (
        "table",
        [
            ["Players", "Packs", "Cards dealt to each player"],
            ["2", "1", "7"],
            ["3", "1", "7"],
            ["4", "1", "5"],
            ["5", "1", "5"],
            ["6", "2", "6"],
            ["7", "2", "6"],
        ],
        [20, 18, 42],
    ),
    (
        "p",
        "When two packs are used, two identical cards may be played on top of each other; "
        "this is simply a match of both suit and rank.",
    ),
    ("h2", "Dealing"),
    (
        "p",
        "Cut for the first deal: the player who cuts the lowest card deals, with aces "
        "counting low for the cut only. The dealer shuffles and deals the cards face down "
        "one at a time, clockwise, starting with the player on the dealer's left. After "
        "each hand the deal passes to the left.",
    ),
    ("page",),
    # page 4
    ("h1", "2. Starting the Discard Pile"),
    (
        "p",
        "Place the undealt cards face down in the middle of the table; they form the "
        "<b>stock</b>. Turn the top card of the stock face up beside it to start the "
        "discard pile. This first face-up card is the <b>starter</b>.",
    ),
    (
        "p",
        "If the starter is an eight, push it back into the middle of the stock and turn up "
        "a new starter. Repeat until the starter is not an eight.",
    ),
    ("p", "The player on the dealer's left plays first, and play continues clockwise."),
    ("h1", "3. Playing a Turn"),
    (
        "p",
        "On your turn, play one card face up on the discard pile. It must match the top "
        "card of the pile either in suit or in rank. For example, on the seven of clubs "
        "you may play any club or any seven.",
    ),
    (
        "ul",
        [
            "Same suit: a heart may always be played on a heart.",
            "Same rank: a nine may always be played on a nine, whatever the suits.",
            "An eight may be played on anything (see the next chapter).",
        ],
    ),
    ("h2", "Drawing by choice"),
    (
        "p",
        "You may draw from the stock even when you hold a card that you could play, for "
        "example to keep a useful card for later. The three-card limit in chapter 5 "
        "applies in the same way as when you cannot play.",
    ),
    (
        "box",
        "Watch the hand sizes",
        "The number of cards each player holds is public information. Keep your hand in a neat "
        "fan so that the others can count it, and answer honestly if asked.",
    ),
    ("page",),
    # page 5
    ("h1", "4. Eights"),
    (
        "p",
        "An eight is wild. You may play an eight on any card, whatever its suit or rank. "
        "When you play an eight you name a suit, and the next player must follow that suit "
        "or play another eight. You may name the suit of the eight itself or any other "
        "suit.",
    ),
    (
        "p",
        "After an eight, the rank of the eight no longer matters: the next player must "
        "play a card of the named suit or another eight.",
    ),
    ("h2", "Ending on an eight"),
    (
        "p",
        "If an eight is your last card, play it as usual. You have gone out, and there is "
        "no need to name a suit.",
    ),
    (
        "box",
        "Keep your eights",
        "An eight played early is an eight you will not have later. Good players save them for "
        "the moment when nothing else fits, or to change the suit just as an opponent is close "
        "to going out.",
    ),
    ("h1", "5. When You Cannot Play"),
    (
        "p",
        "If you cannot play, or choose not to, draw cards from the stock one at a time. As "
        "soon as you draw a card that can be played you may play it, and your turn ends. "
        "Once you have drawn three cards without playing, your turn ends and you "
        "<b>pass</b>.",
    ),
    ("h2", "An empty stock"),
    (
        "p",
        "When the stock runs out, leave the top card of the discard pile where it is, turn "
        "the rest of the discard pile face down, shuffle it and use it as the new stock. If "
        "the discard pile holds only its top card, there is nothing to draw: a player who "
        "cannot play simply passes.",
    ),
    ("page",),
    # page 6
    ("h1", "6. Going Out and Blocked Hands"),
    (
        "p",
        "The hand ends the moment a player plays their last card. That player has "
        "<b>gone out</b> and wins the hand.",
    ),
    ("h2", "Last card"),
    (
        "p",
        'When you play your second-to-last card you must say "last card" aloud before the '
        "next player begins their turn. If you forget and another player points it out "
        "before your next turn, you draw two cards from the stock as a penalty.",
    ),
    ("h2", "Blocked hands"),
    (
        "p",
        "If there is nothing left to draw (only the top card of the discard pile remains) "
        "and no player can play, the hand is blocked. Every player then counts the value "
        "of the cards left in their hand using the scoring table in chapter 7. The player "
        "with the lowest count wins the hand and scores the difference between their own "
        "count and each other player's count.",
    ),
    (
        "p",
        "If two or more players tie for the lowest count in a blocked hand, nobody scores "
        "for that hand, and the deal passes to the left as usual.",
    ),
    (
        "box",
        "Example of a blocked hand",
        "Ana holds a king (10). Ben holds the 3 of spades and the 4 of hearts (7). Cleo holds an "
        "eight (50). Ben has the lowest count and scores 3 from Ana plus 43 from Cleo, 46 "
        "points in all.",
    ),
    ("page",),
    # page 7
    ("h1", "7. Scoring"),
    (
        "p",
        "The player who goes out scores the value of all the cards still held by the other "
        "players, according to this table:",
    ),
    (
        "table",
        [
            ["Card left in a hand", "Points"],
            ["Each eight", "50"],
            ["King, queen or jack", "10"],
            ["Ace", "1"],
            ["Any other card", "face value"],
        ],
        [50, 30],
    ),
    (
        "p",
        "Write the points on a score sheet after every hand, with a running total for each player.",
    ),
    ("h2", "Target score"),
    (
        "p",
        "The game ends as soon as a player reaches or passes the target score, which "
        "depends on the number of players:",
    ),
    (
        "table",
        [["Players", "Target score"], ["2", "100"], ["3", "150"], ["4", "200"], ["5 to 7", "250"]],
        [40, 40],
    ),
    (
        "box",
        "A shorter game",
        "Instead of a target score, you may agree to play a fixed number of hands, for example "
        "one hand dealt by each player. The highest total after the last hand wins.",
    ),
    ("page",),
    # page 8
    ("h1", "8. Variants"),
    (
        "table",
        [
            ["Version", "What changes"],
            [
                "Switch",
                "Action cards: a 2 makes the next player draw two cards, a queen "
                "skips the next player, an ace reverses the direction of play.",
            ],
            [
                "Crazy Jacks",
                "Jacks are wild instead of eights; eights are ordinary cards worth 8 points.",
            ],
            [
                "Draw to play",
                "No three-card limit: keep drawing until you can play or the stock is empty.",
            ],
            [
                "Partnership",
                "Four players in two teams sitting opposite; when one player "
                "goes out, the team scores both opponents' cards.",
            ],
        ],
        [24, 58],
    ),
    (
        "p",
        "In Switch, a player told to draw two may instead play another 2, passing a draw of "
        "four cards to the next player. Each further 2 adds two more cards. A player who "
        "cannot add a 2 draws the whole total, and that ends their turn.",
    ),
    ("h1", "9. Penalties and Etiquette"),
    ("h2", "Playing a wrong card"),
    (
        "p",
        "If you play a card that does not match, take it back and draw one card from the "
        "stock as a penalty; then play a legal card or draw as usual.",
    ),
    ("h2", "Forgetting to name a suit"),
    (
        "p",
        "If you play an eight and the next player begins their turn before you name a "
        "suit, the suit of the eight itself stands.",
    ),
    ("h1", "Glossary"),
    (
        "p",
        "<b>Blocked hand</b>: a hand in which nobody can play and nothing is left to draw. "
        "<b>Go out</b>: play your last card. <b>Starter</b>: the first face-up card of the "
        "discard pile. <b>Stock</b>: the face-down pile of undealt cards. <b>Wild card</b>: "
        "a card that may be played on anything, here the eights.",
    ),
]

# --------------------------------------------------------------------------------------------
# Dominoes, Block and Draw games (tile game), 9 pages; page 3 is made image-only
# --------------------------------------------------------------------------------------------
DOMINOES = [
    (
        "title",
        "DOMINOES",
        "The Block Game and the Draw Game",
        [
            "2 to 4 players &#183; ages 7 and up &#183; 20-40 minutes",
            "Uses one double-six set of 28 tiles",
            EDITION,
        ],
    ),
    # page 2
    ("h1", "Contents"),
    (
        "ul",
        [
            "About the tiles",
            "Washing and drawing hands",
            "The Block game",
            "The Draw game",
            "Ending a hand",
            "Scoring",
            "Partnership play",
            "Other games with the same set",
            "Tournament rules",
            "Common questions",
            "Glossary",
        ],
    ),
    ("h1", "About the Tiles"),
    (
        "p",
        "A domino set is a collection of rectangular tiles. The face of each tile is divided "
        "by a line into two square ends, and each end shows a number of spots, called "
        "<b>pips</b>, or is blank. The standard set used in this booklet is the "
        "<b>double-six</b> set, in which each end shows from zero to six pips.",
    ),
    (
        "p",
        "Every possible pairing of two ends appears exactly once, so the set has 28 tiles. "
        "Seven of them are <b>doubles</b>, with the same number on both ends, from the "
        "double-blank up to the double-six. There are 168 pips in the whole set.",
    ),
    (
        "p",
        "A tile is named by its two ends, higher end first: the 6-4 has six pips on one end "
        "and four on the other. All the tiles that carry a given number form a "
        "<b>suit</b>, and each suit has seven tiles.",
    ),
    (
        "box",
        "Goal of the game",
        "Be the first to play every tile in your hand, or hold the fewest pips when nobody can "
        "play. Points from each hand add up over a game to a target score.",
    ),
    ("page",),
    # page 3 (rasterised afterwards: image only)
    ("h1", "1. Washing and Drawing Hands"),
    (
        "p",
        "Turn all the tiles face down on the table and mix them by sliding them around with "
        "both hands. This is called <b>washing</b> the tiles. For the first hand any player "
        "may wash; after that the winner of the previous hand washes.",
    ),
    (
        "p",
        "Each player then draws the number of tiles shown in the table and stands them on "
        "edge so that only they can see the faces. Tiles that nobody draws stay face down "
        "as the <b>boneyard</b>.",
    ),
    (
        "table",
        [
            ["Players", "Tiles each, Block", "Tiles each, Draw", "Boneyard, Draw"],
            ["2", "7", "7", "14"],
            ["3", "7", "6", "10"],
            ["4", "7", "5", "8"],
        ],
        [16, 22, 22, 22],
    ),
    (
        "p",
        "In the Block game the leftover tiles are pushed aside unseen and take no part in "
        "that hand. With four players all 28 tiles are in the hands.",
    ),
    ("h2", "Who plays first"),
    (
        "p",
        "For the first hand, the player holding the double-six places it as the first tile, "
        "called the <b>set</b>. If nobody holds the double-six, the holder of the next "
        "highest double sets that double. If no player holds any double, all the tiles "
        "are washed again and new hands are drawn.",
    ),
    (
        "p",
        "In every later hand, the winner of the previous hand sets first and may choose any tile.",
    ),
    ("page",),
    # page 4
    ("h1", "2. The Block Game"),
    (
        "p",
        "Players take turns clockwise. On your turn you place one tile from your hand at one "
        "of the two open ends of the line of play, so that the touching ends match: a four "
        "next to a four, a blank next to a blank. If a tile fits both ends, you choose "
        "where to put it. The line may bend around corners to stay on the table; bends "
        "have no effect on the rules.",
    ),
    (
        "p",
        "A double is placed crosswise, across the line. It still offers only one open end, "
        "showing its number, so the line of play never has more than two open ends.",
    ),
    ("h2", "Knocking"),
    (
        "p",
        "If you cannot place a tile, you pass, and you show this by knocking twice on the "
        "table. You may not pass while you hold a tile that fits, and in the Block game you "
        "never take tiles from the boneyard.",
    ),
    (
        "box",
        "Counting the ends",
        "Each number appears on exactly eight ends in the set. When both open ends show a number "
        "whose eight ends you can all see on the table, nobody can play on it, and the game is "
        "about to block.",
    ),
    ("h2", "A blocked game"),
    (
        "p",
        "If no player can make a play, the game is <b>blocked</b> and the hand ends at once. "
        "Chapter 4 explains who wins a blocked hand.",
    ),
    ("page",),
    # page 5
    ("h1", "3. The Draw Game"),
    (
        "p",
        "The Draw game is played exactly like the Block game, except that a player who "
        "cannot play must draw tiles from the boneyard, one at a time, until they draw a "
        "tile that fits. That tile must then be played at once.",
    ),
    (
        "p",
        "You may only draw when you have no tile that fits. Drawing while holding a "
        "playable tile is not allowed; a player who does so keeps the drawn tile and must "
        "still play a fitting tile from their hand.",
    ),
    ("h2", "The last two tiles"),
    (
        "p",
        "With two players, the last two tiles in the boneyard are never drawn. Once only "
        "two tiles remain, a player who cannot play knocks and passes as in the Block game. "
        "With three or four players the whole boneyard may be drawn.",
    ),
    (
        "box",
        "Which game should we play?",
        "The Draw game suits two or three players, who would otherwise block very often. With "
        "four players the Block game is usual, because the whole set is already in the hands.",
    ),
    ("h1", "4. Ending a Hand"),
    (
        "p",
        "A hand ends in one of two ways. If a player places their last tile, they call "
        '"domino" and win the hand. If the game is blocked, the player whose remaining '
        "tiles carry the fewest pips wins the hand.",
    ),
    ("p", "When counting, a blank end counts zero, so the double-blank is worth nothing."),
    ("page",),
    # page 6
    ("h2", "Ties in a blocked game"),
    (
        "p",
        "If two or more players tie for the fewest pips in a blocked game, nobody scores "
        "for that hand. The player who set the first tile of the blocked hand sets first "
        "again in the next hand.",
    ),
    ("h1", "5. Scoring"),
    (
        "p",
        "The winner of a hand scores the total pips in all the other players' hands. In a "
        "blocked game the winner also subtracts the pips left in their own hand from that "
        "total.",
    ),
    (
        "box",
        "Example",
        "Ann dominoes. Ben still holds the 5-3 and the 2-0, and Cara holds the 6-6. Ann scores "
        "8 + 2 + 12 = 22 points.",
    ),
    (
        "p",
        "Agree the length of the game before you start. The first player or partnership to "
        "reach or pass the target at the end of a hand wins the game.",
    ),
    (
        "table",
        [
            ["Game length", "Target score", "Usual number of hands"],
            ["Short", "61", "3 to 5"],
            ["Standard", "100", "5 to 8"],
            ["Long", "150", "8 to 12"],
        ],
        [24, 24, 34],
    ),
    (
        "p",
        "Keep the score on paper, one column per player or team. Many players use a "
        "cribbage board instead, which is why the short game is played to 61.",
    ),
    ("page",),
    # page 7
    ("h1", "6. Partnership Play"),
    (
        "p",
        "Four players may play as two teams of two, partners sitting opposite each other so "
        "that turns alternate between the teams. Partners keep their tiles secret from each "
        "other and may not signal or discuss their tiles during a hand.",
    ),
    (
        "p",
        "When a player dominoes, their team scores the pips in both opponents' hands; the "
        "partner's remaining tiles are not counted. In a blocked game each team adds up the "
        "pips in its two hands, and the team with the lower total scores the other team's "
        "total minus its own.",
    ),
    ("h1", "7. Other Games with the Same Set"),
    (
        "p",
        "The double-six set is used for many other games. Each needs its own rules, which "
        "are beyond this booklet; the table only shows what makes each one different.",
    ),
    (
        "table",
        [
            ["Game", "What makes it different"],
            [
                "All Fives",
                "You score whenever the open ends add up to a multiple of five; "
                "the first double is a spinner with four open ends.",
            ],
            ["Matador", "Touching ends must add up to seven instead of matching."],
            [
                "Sebastopol",
                "Four players, all 28 tiles dealt; the double-six starts a cross with four arms.",
            ],
            ["Bergen", "Points for making both ends of the line show the same number."],
        ],
        [22, 60],
    ),
    ("page",),
    # page 8
    ("h1", "8. Tournament Rules"),
    (
        "p",
        "Club tournaments play the Draw game with two players, or the Block game with four "
        "players in partnerships. Each match is played to 100 points.",
    ),
    ("h2", "Time"),
    (
        "p",
        "A match may last at most 45 minutes. When time is called, the hand in progress is "
        "finished, and the player or team with the higher total wins the match; if the "
        "totals are level, one more hand is played.",
    ),
    ("h2", "Misplaced tiles"),
    (
        "p",
        "A tile placed at an end it does not match must be taken back if the mistake is "
        "noticed before the next player has played, and the player must then make a legal "
        "play. Once the next player has played, the misplaced tile stays where it is.",
    ),
    ("h2", "Rounding"),
    (
        "p",
        "In tournament play each hand's score is rounded to the nearest multiple of five: "
        "a hand worth 22 pips scores 20 points, and a hand worth 23 pips scores 25.",
    ),
    ("h2", "League points"),
    (
        "table",
        [
            ["Match result", "League points"],
            ["Win by 50 points or more", "3"],
            ["Win by fewer than 50 points", "2"],
            ["Loss by fewer than 50 points", "1"],
            ["Loss by 50 points or more", "0"],
        ],
        [50, 30],
    ),
    ("page",),
    # page 9
    ("h1", "9. Common Questions"),
    ("h2", "May I play a double at either end?"),
    (
        "p",
        "Yes. A double may be played at any open end that shows its number. It is always "
        "placed crosswise.",
    ),
    ("h2", "Do doubles count twice when scoring?"),
    (
        "p",
        "No. A double counts the pips on both of its halves, so the 5-5 is worth 10, no "
        "more and no less.",
    ),
    ("h2", "I have a tile that fits. May I knock anyway?"),
    (
        "p",
        "No. Knocking is only allowed when you cannot play. In tournament play, a player "
        "found to have knocked while holding a playable tile loses the hand at once, and "
        "the other side scores the pips left in that player's hand.",
    ),
    ("h1", "Glossary"),
    (
        "p",
        "<b>Boneyard</b>: the face-down tiles nobody has drawn. <b>Domino</b>: the call made "
        "when playing your last tile. <b>Double</b>: a tile with the same number on both "
        "ends. <b>Knock</b>: tap the table to show that you pass. <b>Pip</b>: one spot on a "
        "tile. <b>Set</b>: the first tile of a hand. <b>Washing</b>: shuffling the tiles "
        "face down.",
    ),
]

BOOKS = [
    ("own_draughts.pdf", "English Draughts (Checkers)", DRAUGHTS),
    ("own_crazy_eights.pdf", "Crazy Eights", EIGHTS),
    ("own_dominoes.pdf", "Dominoes (Block and Draw)", DOMINOES),
]
IMAGE_ONLY = ("own_dominoes.pdf", 3)  # (file, 1-based page)


def rasterise_page(path: Path, page_index: int, dpi: int = 150) -> str:
    """Replace one page by an image of itself (no text layer). Returns the page's true text.

    Same procedure as make_dev_rulebooks.rasterise_page in the shared dev-set tools."""
    pdf = pdfium.PdfDocument(str(path))
    text = pdf[page_index].get_textpage().get_text_range()
    img = pdf[page_index].render(scale=dpi / 72).to_pil().convert("L")
    pdf.close()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.drawImage(ImageReader(img), 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()
    img_page = PdfReader(io.BytesIO(buf.getvalue())).pages[0]
    reader = PdfReader(str(path))
    writer = PdfWriter()
    for i, p in enumerate(reader.pages):
        writer.add_page(img_page if i == page_index else p)
    writer.add_metadata(reader.metadata or {})
    with open(path, "wb") as f:
        writer.write(f)
    return text


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, game, blocks in BOOKS:
        build(str(out / name), game, blocks)
    name, page = IMAGE_ONLY
    truth = rasterise_page(out / name, page - 1)
    (out / "page_text_fallback.json").write_text(
        json.dumps(
            {
                "_note": "True text of pages that deliberately have no text layer (image only). "
                "Used by verify_questions.py; an OCR step should recover roughly this text.",
                name: {str(page): truth},
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
