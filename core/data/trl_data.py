"""TRL-ready datasets from the decision log, in TRL's own field names.

- SFT: `prompt`/`completion` (or `messages`): the sentence as the person left it, all accepted and
  rewritten edits of the sentence applied (one row per sentence, round and person, so one prompt
  never has two contradicting targets).
- DPO: `prompt`/`chosen`/`rejected`, one pair per decided edit: an accepted edit's sentence is
  chosen over the original; a rejected edit's original is chosen over the edit; a person's rewrite
  is chosen over the model's proposal.
- KTO: `prompt`/`completion`/`label`, one row per decided edit (a rewrite is a desirable completion).
- Reward: `chosen`/`rejected` with the prompt inside each (TRL's implicit-prompt form).

The prompt is what the proposer is asked at inference: a CoEdIT instruction prefix per intent
before the sentence for seq2seq models, the chat messages of `core.proposers.prompts.build_messages`
for chat models (conversational rows: lists of {role, content}). Rows come from the decision log
(`core.data.export` rows, live or read back from a JSONL/Parquet export); only the decision that stands
per edit and person counts. Train/test splits are by document, never by row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from core import decisions
from core.data.export_query import split_documents
from core.data.export_rows import final_text, pair_key
from core.decisions import Action
from core.errors import InputError
from core.proposers.base import ProposalRequest
from core.proposers.prompts import build_messages, seq2seq_prefixes
from core.text.segment import Sentence

KINDS = ("sft", "dpo", "kto", "reward")
DECIDED = (Action.ACCEPT, Action.REJECT, Action.MODIFY)
SEQ2SEQ, CHAT = "seq2seq", "chat"
CHAT_KINDS = ("hf-chat", "openai")
# Edits with no intent are treated as grammar fixes (the rule engines' edits) for the seq2seq prefix.
DEFAULT_INTENT = "fluency"


@dataclass(frozen=True)
class PromptFormat:
    """How a proposer is asked: a seq2seq instruction prefix, or chat messages."""

    style: str  # seq2seq | chat
    prefixes: dict[str, str] = field(default_factory=dict)
    system: str | None = None

    @classmethod
    def for_spec(cls, kind: str | None, params: dict[str, Any] | None = None) -> PromptFormat:
        """The format of a proposer kind; kinds without prompts (rules, imports) get CoEdIT prefixes."""
        params = params or {}
        if kind in CHAT_KINDS:
            return cls(style=CHAT, system=params.get("system_prompt") or None)
        return cls(style=SEQ2SEQ, prefixes=seq2seq_prefixes(params if kind == "hf-seq2seq" else {}))

    @classmethod
    def parse(cls, style: str) -> PromptFormat:
        if style not in (SEQ2SEQ, CHAT):
            raise InputError(f"Unknown prompt style {style!r}; use {SEQ2SEQ} or {CHAT} (or auto).")
        return cls.for_spec("hf-chat" if style == CHAT else "hf-seq2seq")

    @property
    def conversational(self) -> bool:
        return self.style == CHAT


def row_format(row: dict[str, Any]) -> PromptFormat:
    """The format of the proposer that made this row's edit."""
    params = row.get("spec_params")
    if isinstance(params, str):
        params = json.loads(params)
    return PromptFormat.for_spec(row.get("spec_kind"), params)


def prompt_intent(row: dict[str, Any]) -> str:
    return row.get("intent") or DEFAULT_INTENT


def build_prompt(row: dict[str, Any], fmt: PromptFormat | None) -> str | list[dict[str, str]] | None:
    """The prompt the proposer gets for this row's sentence (fmt None: the format of the proposer that
    made the edit), or None when the format cannot ask for the edit's intent (a seq2seq model has no
    prefix for "meaning-changed")."""
    fmt = fmt or row_format(row)
    sentence = row["sentence"]
    if fmt.style == SEQ2SEQ:
        prefix = fmt.prefixes.get(prompt_intent(row))
        return None if prefix is None else prefix + sentence.strip()
    intents = tuple(row.get("round_intents") or ()) or (prompt_intent(row),)
    request = ProposalRequest(
        text=sentence,
        sentences=[],
        intents=intents,
        feedback=(row["round_feedback"],) if row.get("round_feedback") else (),
    )
    sent = Sentence(
        index=0,
        start=0,
        end=len(sentence),
        text=sentence,
        context_before=last_sentence(row.get("context_before") or ""),
        context_after=first_sentence(row.get("context_after") or ""),
    )
    messages = build_messages(sent, request, system=fmt.system)
    return messages


_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n\s*")


def last_sentence(text: str) -> str:
    """The last whole sentence of `text`: the one neighbour the chat proposer shows before a sentence."""
    body = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(body)]
    return body[ends[-1] :].strip() if ends else body.strip()


def first_sentence(text: str) -> str:
    """The first sentence of `text` (the neighbour shown after a sentence)."""
    body = text.lstrip()
    m = _SENTENCE_END.search(body)
    return body[: m.start()].strip() if m else body.strip()


def _answer(fmt: PromptFormat | None, row: dict[str, Any], text: str) -> str | list[dict[str, str]]:
    text = text.strip()
    return [{"role": "assistant", "content": text}] if (fmt or row_format(row)).conversational else text


# --- decisions that stand --------------------------------------------------------


def standing_rows(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per (edit, person): the decision that stands after replaying undo, pending ones dropped.

    Rows already exported with latest_only pass through unchanged; a full log (with undo rows) is
    grouped in memory, which is fine for training-set sizes. Decision ids grow as decisions are
    appended, so they give the order to replay in (as core.decisions does)."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["edit_id"], row["user_id"]), []).append(row)
    for items in groups.values():
        items.sort(key=itemgetter("decision_id"))
        top = decisions.standing_row(items, action=itemgetter("action"))
        if top is not None and top["action"] in DECIDED:
            yield top


# --- builders ----------------------------------------------------------------------


@dataclass
class BuildStats:
    """What went in and what was left out, for the data snapshot of a training run."""

    decisions: int = 0
    rows: int = 0
    skipped_no_prompt: int = 0
    skipped_no_change: int = 0
    duplicates: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _apply_in_sentence(sentence: str, changes: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, text in sorted(changes):
        if start < pos:  # overlapping edits in one sentence cannot both apply; keep the first
            continue
        out.append(sentence[pos:start])
        out.append(text)
        pos = end
    out.append(sentence[pos:])
    return "".join(out)


def sft_rows(
    rows: Iterable[dict[str, Any]], fmt: PromptFormat | None, *, messages: bool = False, stats: BuildStats | None = None
) -> Iterator[dict[str, Any]]:
    """SFT rows: the sentence with every accepted and rewritten edit of it applied, per round and person.
    `messages=True` gives the `messages` form instead of `prompt`/`completion`. Each row carries the
    document id under `_document_id` (dropped before training)."""
    stats = stats or BuildStats()
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in standing_rows(rows):
        stats.decisions += 1
        intent = prompt_intent(row) if (fmt or row_format(row)).style == SEQ2SEQ else None
        key = (row["round_id"], row["user_id"], row["start"] - row["edit_offset"], row["sentence"], intent)
        groups.setdefault(key, []).append(row)
    for items in groups.values():
        first = items[0]
        changes = [
            (
                r["edit_offset"],
                r["edit_offset"] + len(r["before"]),
                final_text(r["action"], r["before"], r["after"], r["modified_text"]),
            )
            for r in items
            if r["action"] in (Action.ACCEPT, Action.MODIFY)
        ]
        target = _apply_in_sentence(first["sentence"], changes)
        if not changes or target.strip() == first["sentence"].strip():
            stats.skipped_no_change += 1
            continue
        prompt = build_prompt(first, fmt)
        if prompt is None:
            stats.skipped_no_prompt += 1
            continue
        stats.rows += 1
        if messages:
            user = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
            yield {
                "messages": [*user, {"role": "assistant", "content": target.strip()}],
                "_document_id": first["document_id"],
            }
        else:
            yield {"prompt": prompt, "completion": _answer(fmt, first, target), "_document_id": first["document_id"]}


def preference_pair(row: dict[str, Any]) -> tuple[str, str] | None:
    """(chosen sentence, rejected sentence) for a decided edit, or None when they are the same."""
    original, proposed = row["sentence"], row["sentence_after"]
    if row["action"] == Action.ACCEPT:
        pair = (proposed, original)
    elif row["action"] == Action.REJECT:
        pair = (original, proposed)
    elif row["action"] == Action.MODIFY:
        pair = (row["sentence_final"], proposed)
    else:
        return None
    return None if pair[0].strip() == pair[1].strip() else pair


def dpo_rows(
    rows: Iterable[dict[str, Any]], fmt: PromptFormat | None, *, stats: BuildStats | None = None
) -> Iterator[dict[str, Any]]:
    stats = stats or BuildStats()
    for row in standing_rows(rows):
        stats.decisions += 1
        pair = preference_pair(row)
        if pair is None:
            stats.skipped_no_change += 1
            continue
        prompt = build_prompt(row, fmt)
        if prompt is None:
            stats.skipped_no_prompt += 1
            continue
        stats.rows += 1
        yield {
            "prompt": prompt,
            "chosen": _answer(fmt, row, pair[0]),
            "rejected": _answer(fmt, row, pair[1]),
            "_document_id": row["document_id"],
        }


def kto_rows(
    rows: Iterable[dict[str, Any]], fmt: PromptFormat | None, *, stats: BuildStats | None = None
) -> Iterator[dict[str, Any]]:
    """One row per decided edit: the proposed sentence labelled by the decision (a rewrite is desirable)."""
    stats = stats or BuildStats()
    for row in standing_rows(rows):
        stats.decisions += 1
        if row["action"] == Action.MODIFY:
            completion, label = row["sentence_final"], True
        else:
            completion, label = row["sentence_after"], row["action"] == Action.ACCEPT
        prompt = build_prompt(row, fmt)
        if prompt is None:
            stats.skipped_no_prompt += 1
            continue
        stats.rows += 1
        yield {
            "prompt": prompt,
            "completion": _answer(fmt, row, completion),
            "label": label,
            "_document_id": row["document_id"],
        }


def reward_rows(
    rows: Iterable[dict[str, Any]], fmt: PromptFormat | None, *, stats: BuildStats | None = None
) -> Iterator[dict[str, Any]]:
    """Reward-model pairs with the prompt inside chosen and rejected (TRL's implicit-prompt form)."""
    for pair in dpo_rows(rows, fmt, stats=stats):
        prompt = pair["prompt"]
        if isinstance(prompt, list):
            yield {
                "chosen": [*prompt, *pair["chosen"]],
                "rejected": [*prompt, *pair["rejected"]],
                "_document_id": pair["_document_id"],
            }
        else:
            yield {
                "chosen": f"{prompt}\n{pair['chosen']}",
                "rejected": f"{prompt}\n{pair['rejected']}",
                "_document_id": pair["_document_id"],
            }


def build_rows(
    kind: str,
    rows: Iterable[dict[str, Any]],
    fmt: PromptFormat | None,
    *,
    messages: bool = False,
    stats: BuildStats | None = None,
) -> Iterator[dict[str, Any]]:
    """TRL rows of `kind` (sft | dpo | kto | reward), each with `_document_id` for splitting."""
    if kind == "sft":
        return sft_rows(rows, fmt, messages=messages, stats=stats)
    if kind == "dpo":
        return dpo_rows(rows, fmt, stats=stats)
    if kind == "kto":
        return kto_rows(rows, fmt, stats=stats)
    if kind == "reward":
        return reward_rows(rows, fmt, stats=stats)
    raise InputError(f"Unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}.")


def _row_key(row: dict[str, Any]) -> int:
    text = json.dumps({k: v for k, v in row.items() if k != "_document_id"}, sort_keys=True, ensure_ascii=False)
    return pair_key({"sentence": text, "edit_offset": 0, "before": "", "after": "", "action": "", "modified_text": ""})


@dataclass
class TrlSplits:
    """Rows per split, ready for `datasets.Dataset.from_list` (the `_document_id` column removed)."""

    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    stats: BuildStats
    test_documents: list[int]

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "test": len(self.test)}


def split_rows(
    rows: Iterable[dict[str, Any]],
    *,
    test_fraction: float = 0.1,
    seed: int = 0,
    dedupe: bool = True,
    stats: BuildStats | None = None,
) -> TrlSplits:
    """Split TRL rows by document (all of a document's rows on one side); identical rows kept once."""
    stats = stats or BuildStats()
    items = []
    seen: set[int] = set()
    for row in rows:
        if dedupe:
            k = _row_key(row)
            if k in seen:
                stats.duplicates += 1
                continue
            seen.add(k)
        items.append(row)
    if len({type(r.get("prompt", r.get("chosen", r.get("messages")))) for r in items}) > 1:
        raise InputError(
            "These decisions come from proposers with different prompt formats (chat and seq2seq); "
            "choose one prompt style (seq2seq or chat) for the whole dataset."
        )
    test_docs = split_documents({r["_document_id"] for r in items}, test_fraction, seed)
    train = [_strip(r) for r in items if r["_document_id"] not in test_docs]
    test = [_strip(r) for r in items if r["_document_id"] in test_docs]
    return TrlSplits(train=train, test=test, stats=stats, test_documents=sorted(test_docs))


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "_document_id"}


def make_splits(
    kind: str,
    rows: Iterable[dict[str, Any]],
    fmt: PromptFormat | None,
    *,
    messages: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
    dedupe: bool = True,
) -> TrlSplits:
    stats = BuildStats()
    return split_rows(
        build_rows(kind, rows, fmt, messages=messages, stats=stats),
        test_fraction=test_fraction,
        seed=seed,
        dedupe=dedupe,
        stats=stats,
    )


def to_dataset_dict(splits: TrlSplits):  # noqa: ANN201 - datasets.DatasetDict
    """A DatasetDict with train (and test when there is one)."""
    from datasets import Dataset, DatasetDict

    parts = {"train": Dataset.from_list(splits.train)}
    if splits.test:
        parts["test"] = Dataset.from_list(splits.test)
    return DatasetDict(parts)


def save_splits(splits: TrlSplits, out: str | Path, file_format: str = "hf", push_to_hub: str | None = None) -> Path:
    """Write the splits: a DatasetDict folder (hf, `datasets.load_from_disk`), or train/test .jsonl or
    .parquet files in the folder `out` (`datasets.load_dataset("json"|"parquet", data_files=...)`)."""
    from core.data.export_formats import push_dataset, write_jsonl

    out = Path(out)
    if file_format == "hf":
        dd = to_dataset_dict(splits)
        dd.save_to_disk(str(out))
        if push_to_hub:
            push_dataset(dd, push_to_hub)
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", splits.train), ("test", splits.test)):
        if name == "test" and not rows:
            continue
        if file_format == "jsonl":
            write_jsonl(rows, out / f"{name}.jsonl")
        elif file_format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), str(out / f"{name}.parquet"))
        else:
            raise InputError(f"Unknown file format {file_format!r}; use hf, jsonl or parquet.")
    return out


# --- reading an export back ----------------------------------------------------------


def read_log_file(path: str | Path) -> Iterator[dict[str, Any]]:
    """Decision-log rows from a JSONL or Parquet export (core.data.export), for building TRL data offline."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"No export at {path}.")
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise InputError(f"{path}:{n} is not valid JSON: {exc}") from exc
        return
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=10_000):
            yield from batch.to_pylist()
        return
    raise InputError(f"{path} is not a decision-log export; give a .jsonl or .parquet file from `export`.")
