"""Small wording rules every message shares (a base module: it imports nothing of the project).

"1 session", "2 sessions", never "1 session(s)": the therapist reads these lines in front of her patient.
"""
from __future__ import annotations

__all__ = ["UNIT_TEXT", "plural", "unit_text"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 marker', '2 markers'; ``many`` for the irregular ones ('1 diary entry', '3 diary entries')."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


#: How a stored unit name is written for people (``uV`` is µV on screen, in reports and in messages).
UNIT_TEXT = {"uV": "µV", "cmH2O": "cmH₂O", "mmHg": "mmHg"}


def unit_text(unit: str) -> str:
    """A stored unit name as people read it (``uV`` → ``µV``, ``cmH2O`` → ``cmH₂O``); others as they are."""
    return UNIT_TEXT.get(unit, unit)
