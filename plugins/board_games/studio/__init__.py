"""The board-game studio page: ask the rules, add and follow rulebooks."""
