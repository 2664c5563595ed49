"""One cleaning function for every text on its way into the database, and stricter ones for names.

PostgreSQL text cannot hold NUL (`DataError`) and SQLite stores it and breaks later; other C0/C1 control
characters are never part of prose. `clean_text` removes them (tab, newline and carriage return stay)
and says how many it removed, so a caller can record why the text changed. `clean_name` is for titles,
user names and file names: one line, no bidi overrides (which reorder what a terminal or page shows),
no zero-width tricks, shortened (never refused) to a length. `terminal_safe` escapes what a terminal
would obey (ANSI sequences, bidi overrides) in CLI output. All pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# C0 controls except \t \n \r, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidi embeddings/overrides/isolates, marks, zero-width and line/paragraph separators, BOM.
_BIDI_AND_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\u061c]")
_SPACES = re.compile(r"\s+")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Cleaned:
    text: str
    removed: int  # characters removed

    @property
    def note(self) -> str | None:
        if not self.removed:
            return None
        return f"{self.removed} control character{'s' * (self.removed != 1)} (such as NUL) removed."


def clean_text(text: str) -> Cleaned:
    """Text without NUL and control characters other than tab and newline (CR kept: line endings are
    normalised elsewhere, and recorded)."""
    cleaned, removed = _CONTROL.subn("", text)
    # Lone surrogates cannot be encoded as UTF-8: neither database stores them.
    if any("\ud800" <= ch <= "\udfff" for ch in cleaned):
        before = len(cleaned)
        cleaned = "".join(ch for ch in cleaned if not "\ud800" <= ch <= "\udfff")
        removed += before - len(cleaned)
    return Cleaned(cleaned, removed)


def has_control(text: str) -> bool:
    return clean_text(text).removed > 0


def clean_name(name: str, max_chars: int) -> str:
    """A one-line name: NFC, control, bidi-override and invisible characters removed, whitespace runs as
    one space, shortened to max_chars with an ellipsis. May be empty: callers say what a name needs."""
    text = unicodedata.normalize("NFC", clean_text(name).text)
    text = _BIDI_AND_INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return shorten(text, max_chars)


def shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - 1)].rstrip() + ELLIPSIS


def clean_value(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """clean_text applied to every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean_text(value).text
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """Text a terminal shows as written: escape sequences (ANSI), control and bidi characters shown as
    escapes (\\x1b, \\u202e) instead of obeyed. Newlines and tabs stay unless one_line."""
    kept = "" if one_line else "\n\t"

    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        if ch in kept:
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE_IN_TERMINAL.sub(escape, text)


_UNSAFE_IN_TERMINAL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\u061c]")
