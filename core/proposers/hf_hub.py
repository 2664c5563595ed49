"""Before loading a Hugging Face model by id: is it here, can the Hub be reached, may we have it?

transformers, asked for a model it cannot fetch, retries every file with long timeouts: without
network a writer waited a minute and then read "give a Hugging Face model id or a local path" for a
valid id. `check_hub_model` answers in seconds with the real cause, one message:

- cached here            -> load it (from the cache only when the Hub cannot be reached)
- HF_HUB_OFFLINE set     -> "offline, and not in the local cache"
- Hub unreachable        -> "cannot reach the Hub" (one short request, PROBE_TIMEOUT_S)
- 404 / 401 / gated      -> "not found" / "no permission"
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ProposerError

PROBE_TIMEOUT_S = 4.0


@dataclass(frozen=True)
class HubCheck:
    cached: bool  # config.json of the model is in the local cache
    local_files_only: bool  # load from the cache without asking the Hub (offline, or the Hub unreachable)


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _download_hint(name: str) -> str:
    return f"download it once where there is network (hf download {name}) or give the path of a saved copy"


def check_hub_model(name: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> HubCheck:
    """Whether and how `name` (a Hub model id, not a local path) can be loaded; ProposerError naming
    the cause (not a valid id, offline, unreachable, not found, no permission) when it cannot."""
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise ProposerError(
            f"Could not load model {name!r}: it is neither a folder here nor a Hugging Face model id "
            "(owner/name, e.g. grammarly/coedit-large)."
        ) from None
    cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    if _offline():
        if cached:
            return HubCheck(cached=True, local_files_only=True)
        raise ProposerError(
            f"Could not load model {name!r}: offline (HF_HUB_OFFLINE is set) and the model is not in the "
            f"local Hugging Face cache; {_download_hint(name)}."
        )
    try:
        HfApi().model_info(name, timeout=timeout_s)
    except GatedRepoError:
        if cached:
            return HubCheck(cached=True, local_files_only=True)
        raise ProposerError(
            f"Could not load model {name!r}: no permission. It is a gated model: accept its terms on "
            "huggingface.co and set HF_TOKEN (or run `hf auth login`) on the machine running Redraft."
        ) from None
    except RepositoryNotFoundError:
        if cached:
            return HubCheck(cached=True, local_files_only=True)
        raise ProposerError(
            f"Could not load model {name!r}: not found on the Hugging Face Hub (check the spelling; a private "
            "model also needs HF_TOKEN set)."
        ) from None
    except OfflineModeIsEnabled:
        raise ProposerError(
            f"Could not load model {name!r}: offline and not in the local cache; {_download_hint(name)}."
        ) from None
    except HfHubHTTPError as exc:
        if cached:
            return HubCheck(cached=True, local_files_only=True)
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise ProposerError(
            f"Could not load model {name!r}: the Hugging Face Hub answered {status or 'with an error'}; "
            "try again later."
        ) from None
    except Exception as exc:  # noqa: BLE001 - httpx connect/timeout errors, DNS failures: the Hub is unreachable
        if cached:
            return HubCheck(cached=True, local_files_only=True)
        cause = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise ProposerError(
            f"Could not load model {name!r}: cannot reach the Hugging Face Hub ({cause}) and the model is not in "
            f"the local cache; check the network, or {_download_hint(name)}."
        ) from None
    return HubCheck(cached=cached, local_files_only=False)
