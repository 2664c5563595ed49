"""The cookie routes send the browser back only to a path on this site (never an open redirect)."""

from __future__ import annotations

import pytest

from ui.session_routes import local_path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/revise?doc=3&round=2", "/revise?doc=3&round=2"),
        ("/history", "/history"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("revise", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
    ],
)
def test_only_local_paths(target, expected):
    assert local_path(target) == expected
