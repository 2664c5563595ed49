"""The review component's "Never change" trigger as the page reads it: an edit id (this document) or
{"id": …, "scope": "project"}; anything else (a rewritten browser message) is ignored."""

from __future__ import annotations

import pytest

from ui.review_widget import _protect_request


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, (7, "document")),
        ({"id": 7, "scope": "project"}, (7, "project")),
        ({"id": 7, "scope": "document"}, (7, "document")),
        ({"id": 7, "scope": "everywhere"}, (7, "document")),  # an unknown scope never widens it
        ({"id": 7}, (7, "document")),
        (True, None),
        ("7", None),
        (None, None),
        ({"id": "7", "scope": "project"}, None),
        ({"scope": "project"}, None),
        ([7], None),
    ],
)
def test_protect_requests(value, expected):
    assert _protect_request(value) == expected
