"""How deeply brackets nest in JSON or a Python literal, found without parsing it.

json.loads and ast.literal_eval recurse once per level: a file of 100,000 "[" raises RecursionError
(or MemoryError in the parser) and takes down whatever called it. Checking the depth first, in one
flat pass that skips strings, turns that into a clear refusal. Pure.
"""

from __future__ import annotations

OPEN = "[{("
CLOSE = "]})"


def max_nesting(text: str, quotes: str = '"', stop_above: int | None = None) -> int:
    """The deepest bracket nesting outside strings (strings delimited by any of `quotes`, with backslash
    escapes); stops counting once it exceeds stop_above."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in quotes:
            quote = ch
        elif ch in OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif ch in CLOSE:
            depth -= 1
    return deepest


def nesting_ok(text: str, limit: int, quotes: str = '"') -> bool:
    return max_nesting(text, quotes, stop_above=limit) <= limit
