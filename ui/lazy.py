"""Boxes whose content is drawn only while they are open.

A closed expander, popover or tab still runs and sends its body unless told otherwise, and every element
costs the browser a few milliseconds to draw: on a page switch these add up to most of the wait. A box
made with `key=..., on_change="rerun"` knows whether it is open; `when_open` draws into it only then.
Its parameters must stay the same from run to run (a changed label makes a new, closed box).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class _Box(Protocol):
    @property
    def open(self) -> bool | None: ...

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: object) -> bool | None: ...


def when_open(box: _Box, draw: Callable[[], None]) -> None:
    """Draw `draw()` into `box` only while it is open."""
    if box.open:
        with box:
            draw()
