"""What an R3 / IteraTeR log file may hold, checked before anything is imported.

A log is untrusted input. Each file is read with limits (size, bracket nesting, rounds, edits, string
lengths; Python literals only after their nesting is checked, so a deep one is a clear refusal, never a
RecursionError or MemoryError), then validated against pydantic models of the session and per-round
formats. Text fields must be text: a number or an object where text belongs is refused, not
stringified; NUL and other control characters are refused (removing them would shift the logged
character offsets); a version longer than the document size limit is refused. Every refusal is an
InputError naming the file and the field.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from core.errors import InputError
from core.text.clean import has_control
from core.text.nesting import nesting_ok
from core.text.sizes import format_size

TEXT_FIELDS = ("before_revision", "after_revision", "after_human_evaluation")


@dataclass(frozen=True)
class Limits:
    max_text_bytes: int  # each version's text, as for documents
    max_file_bytes: int = 64 * 1024 * 1024
    max_nesting: int = 24
    max_rounds: int = 100
    max_edits: int = 10_000  # per round
    max_string_chars: int = 200_000  # any other string (an edit's before/after, chunks, intents, ids)

    @classmethod
    def for_documents(cls, max_text_bytes: int) -> Limits:
        return cls(max_text_bytes=max_text_bytes, max_file_bytes=max(64 * 1024 * 1024, 24 * max_text_bytes))


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ActionModel(_Open):
    type: StrictStr | None = None
    before: StrictStr | None = None
    after: StrictStr | None = None
    start_char_pos: Annotated[StrictInt, Field(ge=0)]
    end_char_pos: Annotated[StrictInt, Field(ge=0)]
    major_intent: StrictStr | None = None
    accept_or_reject: StrictStr | None = None


class DocModel(_Open):
    doc_id: StrictStr | StrictInt | None = None
    before_revision: StrictStr
    after_revision: StrictStr | None = None
    after_human_evaluation: StrictStr | None = None
    edit_actions: list[ActionModel] | None = None
    revision_depth: StrictInt | StrictStr | None = None


class RoundModel(_Open):
    """A rev_depth_k value of a session record, or a per-round record: the round's `doc` and its meta."""

    doc: DocModel


class RoundRecordModel(_Open):
    annotator: StrictStr | None = None
    revision_depth: StrictInt | StrictStr | None = None
    rev_depth: StrictInt | StrictStr | None = None
    depth: StrictInt | StrictStr | None = None


class SessionTopModel(_Open):
    doc_no: StrictInt | StrictStr | None = None
    curr_rev_depth: StrictInt | None = None
    in_human_eval: StrictBool | None = None
    rejected_edit_actions: list[Any] | None = None


def refuse(source: str, where: str, message: str) -> InputError:
    return InputError(f"{source}: {where}: {message}" if where else f"{source}: {message}")


def _where(loc: tuple[int | str, ...], prefix: str) -> str:
    return ".".join([prefix, *map(str, loc)] if prefix else map(str, loc))


def validate(model: type[BaseModel], data: Any, source: str, prefix: str = "") -> None:  # noqa: ANN401
    """Raise InputError naming the file and the first field the model refuses."""
    if not isinstance(data, Mapping):
        raise refuse(source, prefix or "record", f"must be an object, not {type(data).__name__}")
    try:
        model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise refuse(source, _where(first["loc"], prefix), first["msg"]) from None


def check_strings(value: Any, source: str, limits: Limits, where: str = "") -> None:  # noqa: ANN401
    """Every string in a record: no control characters, version texts within the document limit, every
    other string within max_string_chars; lists within max_edits. (Nesting is already bounded.)"""
    if isinstance(value, str):
        field = where.rsplit(".", 1)[-1]
        if field in TEXT_FIELDS:
            size = len(value.encode("utf-8", errors="surrogatepass"))
            if size > limits.max_text_bytes:
                raise refuse(
                    source, where, f"is {format_size(size)} of text; versions are limited like documents "
                    f"({format_size(limits.max_text_bytes)})"
                )  # fmt: skip
        elif len(value) > limits.max_string_chars:
            raise refuse(source, where, f"is {len(value)} characters; at most {limits.max_string_chars} here")
        if has_control(value):
            raise refuse(source, where, "contains NUL or other control characters (not text)")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_strings(key, source, limits, f"{where}.<key>" if where else "<key>")
            check_strings(item, source, limits, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        if len(value) > limits.max_edits:
            raise refuse(source, where, f"has {len(value)} items; at most {limits.max_edits}")
        for n, item in enumerate(value):
            check_strings(item, source, limits, f"{where}.{n}")


def parse_json(text: str, source: str, limits: Limits) -> Any:  # noqa: ANN401 - a JSON value
    """json.loads after the nesting check; ValueError when it is not JSON."""
    if not nesting_ok(text, limits.max_nesting):
        raise refuse(source, "", f"nested deeper than {limits.max_nesting} levels; not an R3 log")
    return json.loads(text)


def parse_literal(text: str, source: str, limits: Limits) -> Any:  # noqa: ANN401 - a Python literal
    """ast.literal_eval after the nesting and size checks (R3 saved some rounds as Python literals)."""
    if len(text) > limits.max_file_bytes:
        raise refuse(source, "", "the literal is larger than a log file may be")
    if not nesting_ok(text, limits.max_nesting, quotes="\"'"):
        raise refuse(source, "", f"a Python literal nested deeper than {limits.max_nesting} levels")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise refuse(source, "", f"a string that is not a Python literal ({type(exc).__name__})") from None


def read_log_text(path: Path, limits: Limits) -> str:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise refuse(
            path.name, "", f"is {format_size(size)}; a log file may be at most {format_size(limits.max_file_bytes)}"
        )
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(path.name, "", f"is not UTF-8 text (byte {exc.start})") from None


def check_rounds(count: int, source: str, limits: Limits) -> None:
    if count > limits.max_rounds:
        raise refuse(source, "", f"has {count} rounds; at most {limits.max_rounds}")
