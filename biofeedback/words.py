"""Small wording rules every message shares (a base module: it imports nothing of the project).

"1 session", "2 sessions", never "1 session(s)": the therapist reads these lines in front of her patient.
"""
from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 marker', '2 markers'; ``many`` for the irregular ones ('1 diary entry', '3 diary entries')."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
