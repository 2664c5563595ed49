"""A Hugging Face model that cannot be had fails at once with its real cause, in one message:
offline, the Hub unreachable (refused, or silent), not found, no permission; a cached model loads
from the cache without asking the Hub. The Hub is a local HTTP server speaking its error headers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from huggingface_hub import constants

from core.errors import ProposerError
from core.proposers import make_request
from core.proposers.base import SpecData
from core.proposers.hf import Seq2SeqProposer
from core.proposers.hf_hub import check_hub_model
from core.proposers.hf_loading import load_model

ANSWERS = {
    "/api/models/someone/missing": (404, "RepoNotFound"),
    "/api/models/someone/gated": (403, "GatedRepo"),
    "/api/models/someone/broken": (500, ""),
}


class _Hub(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?")[0]
        status, code = ANSWERS.get(path, (200, ""))
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", code)
        self.send_header("Content-Type", "application/json")
        body = b'{"id": "x", "sha": "0"}' if status == 200 else b'{"error": "no"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Online mode against a local Hub, with an empty model cache."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    yield url
    server.shutdown()


def _cause(name: str, **kw: object) -> str:
    with pytest.raises(ProposerError) as err:
        check_hub_model(name, **kw)  # type: ignore[arg-type]
    message = str(err.value)
    assert "give a Hugging Face model id or a local path" not in message
    assert "\n" not in message
    return message


def test_offline_and_not_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    for name in ("grammarly/coedit-large", "nobody-here/no-such-model-xyz"):  # a valid id and a made-up one
        assert "offline (HF_HUB_OFFLINE is set)" in _cause(name)


def test_not_a_model_id() -> None:
    assert "neither a folder here nor a Hugging Face model id" in _cause("not an id!!")


def test_not_found_no_permission_and_server_error(hub: str) -> None:
    assert "not found on the Hugging Face Hub" in _cause("someone/missing")
    assert "no permission" in _cause("someone/gated")
    assert "answered 500" in _cause("someone/broken")
    assert check_hub_model("someone/present").local_files_only is False


def test_unreachable_hub_refused_or_silent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    assert "cannot reach the Hugging Face Hub" in _cause("grammarly/coedit-large")
    silent = socket.socket()  # accepts connections, never answers: bounded by the probe's timeout
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        assert "cannot reach the Hugging Face Hub" in _cause("grammarly/coedit-large", timeout_s=0.5)
    finally:
        silent.close()


def test_a_cached_model_loads_from_the_cache_when_the_hub_is_away(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    snapshot = tmp_path / "hub" / "models--someone--cached" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "hub" / "models--someone--cached" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--cached" / "refs" / "main").write_text("abc")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert check_hub_model("someone/cached").local_files_only is True
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    assert check_hub_model("someone/cached").local_files_only is True


def test_the_proposer_fails_once_with_the_cause(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ProposerError, match="offline") as err:
        load_model("grammarly/coedit-large", "seq2seq", device="cpu")
    assert str(err.value).count("Could not load") == 1
    proposer = Seq2SeqProposer(SpecData(kind="hf-seq2seq", model="grammarly/coedit-large", params={"cache": False}))
    with pytest.raises(ProposerError, match="offline"):
        proposer.propose(make_request("She go home. He go too."))
