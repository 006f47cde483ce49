"""The board-game tools: `rulebooks` (extract, chunk, index, retrieve, evaluate), `rules_qa`
(answers with citations) and `games` (the BoardGameGeek catalogue). No Dagster here."""
