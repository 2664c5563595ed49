"""Sizes as people read them: one unit (MiB, as the README's limits) in every message and page."""

from __future__ import annotations

MIB = 1024 * 1024


def format_size(n_bytes: int | float) -> str:
    """`n_bytes` in MiB: "2 MiB", "2.1 MiB", "0.05 MiB" (more digits for a small size, never "0 MiB")."""
    mib = n_bytes / MIB
    digits = 1
    while digits < 6 and mib > 0 and round(mib, digits) == 0:
        digits += 1
    text = f"{mib:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} MiB"


def too_large(what: str, size: int, limit: int) -> str:
    """What a writer reads when `what` is over the limit, and what to do about it. It names no setting:
    an admin finds the setting in the README."""
    shown = format_size(size)
    limit_text = format_size(limit)
    if shown == limit_text:  # 2 MiB and a few bytes must not read as "2 MiB; the limit is 2 MiB"
        shown = f"just over {limit_text}"
    return (
        f"{what} is {shown}; the limit is {limit_text} of text per document. "
        f"Split the document into parts of at most {limit_text} and import each part."
    )
