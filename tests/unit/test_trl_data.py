"""TRL datasets from decision-log rows: field names, pair semantics, prompts, splits; and each dataset is
accepted by its TRL trainer for a few steps on a tiny offline model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.data.trl_data import (
    CHAT,
    PromptFormat,
    build_rows,
    first_sentence,
    last_sentence,
    make_splits,
    preference_pair,
    read_log_file,
    save_splits,
    standing_rows,
)
from core.errors import InputError

_ids = iter(range(1, 10_000))


def row(
    sentence: str, before: str, after: str, action: str, *, doc: int = 1, intent: str | None = "fluency",
    modified: str | None = None, edit: int | None = None, user: int = 1, round_id: int = 1,
    when: str = "2026-01-01T00:00:00+00:00",
    kind: str = "builtin", params: dict | None = None, offset: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A decision-log row as core.data.export writes it (the fields the TRL builders read)."""
    offset = sentence.index(before) if offset is None else offset
    head, tail = sentence[:offset], sentence[offset + len(before) :]
    final = {"accept": after, "modify": modified, "reject": before}.get(action)
    return {
        "decision_id": next(_ids),
        "decided_at": when,
        "action": action,
        "modified_text": modified,
        "edit_id": edit if edit is not None else next(_ids),
        "user_id": user,
        "round_id": round_id,
        "document_id": doc,
        "start": 100 + offset,
        "edit_offset": offset,
        "before": before,
        "after": after,
        "intent": intent,
        "sentence": sentence,
        "sentence_after": head + after + tail,
        "sentence_final": head + final + tail if final is not None else None,
        "context_before": "Earlier text. The previous sentence.",
        "context_after": " The next sentence. Later text.",
        "round_intents": ["fluency", "clarity"],
        "round_feedback": "keep it formal",
        "spec_kind": kind,
        "spec_params": json.dumps(params or {}),
    }


S = "She go to school every day."
SEQ = PromptFormat.for_spec("hf-seq2seq")
CHATF = PromptFormat.for_spec("hf-chat")


def test_preference_pairs_follow_the_decision() -> None:
    acc = row(S, "go", "goes", "accept")
    rej = row(S, "go", "went", "reject")
    mod = row(S, "go", "goes", "modify", modified="walks")
    assert preference_pair(acc) == ("She goes to school every day.", S)  # accepted edit over the original
    assert preference_pair(rej) == (S, "She went to school every day.")  # original over a rejected edit
    assert preference_pair(mod) == (
        "She walks to school every day.",
        "She goes to school every day.",
    )  # rewrite over model
    assert preference_pair(row(S, "go", "goes", "modify", modified="goes")) is None  # nothing to prefer


def test_dpo_kto_reward_rows_in_trl_field_names() -> None:
    rows = [row(S, "go", "goes", "accept"), row(S, "every day", "daily", "reject", intent="clarity")]
    dpo = list(build_rows("dpo", rows, SEQ))
    assert [set(r) for r in dpo] == [{"prompt", "chosen", "rejected", "_document_id"}] * 2
    assert dpo[0]["prompt"] == "Fix the grammar: " + S  # CoEdIT instruction for the edit's intent
    assert dpo[1]["prompt"] == "Improve the clarity of this text: " + S
    assert dpo[1]["chosen"] == S and dpo[1]["rejected"] == "She go to school daily."
    kto = list(build_rows("kto", [*rows, row(S, "go", "goes", "modify", modified="walks")], SEQ))
    assert [(r["completion"], r["label"]) for r in kto] == [
        ("She goes to school every day.", True),
        ("She go to school daily.", False),
        ("She walks to school every day.", True),
    ]
    reward = list(build_rows("reward", rows, SEQ))
    assert reward[0]["chosen"] == "Fix the grammar: " + S + "\nShe goes to school every day."
    assert set(reward[0]) == {"chosen", "rejected", "_document_id"}


def test_chat_rows_carry_the_chat_proposers_prompt() -> None:
    from core.proposers.base import ProposalRequest
    from core.proposers.prompts import build_messages
    from core.text.segment import Sentence

    dpo = list(build_rows("dpo", [row(S, "go", "goes", "accept")], CHATF))[0]
    expected = build_messages(
        Sentence(0, 0, len(S), S, context_before="The previous sentence.", context_after="The next sentence."),
        ProposalRequest(text=S, sentences=[], intents=("fluency", "clarity"), feedback=("keep it formal",)),
    )
    assert dpo["prompt"] == expected
    assert dpo["chosen"] == [{"role": "assistant", "content": "She goes to school every day."}]
    reward = list(build_rows("reward", [row(S, "go", "goes", "accept")], CHATF))[0]
    assert reward["chosen"] == [*expected, *dpo["chosen"]]
    assert PromptFormat.for_spec("hf-chat", {"system_prompt": "Be brief."}).system == "Be brief."


def test_sft_applies_every_accepted_edit_of_a_sentence_once() -> None:
    rows = [
        row(S, "go", "goes", "accept", intent="fluency"),
        row(S, "day", "morning", "modify", modified="week", intent="fluency"),
        row(S, "school", "class", "reject", intent="fluency"),
        row("It rain.", "rain", "rains", "reject", round_id=2),  # nothing accepted: no SFT row
    ]
    sft = list(build_rows("sft", rows, SEQ))
    assert len(sft) == 1
    assert sft[0]["prompt"] == "Fix the grammar: " + S
    assert sft[0]["completion"] == "She goes to school every week."
    msgs = list(build_rows("sft", rows, CHATF, messages=True))[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert msgs[-1]["content"] == "She goes to school every week."


def test_standing_rows_replay_undo_per_edit_and_person() -> None:
    a1 = row(S, "go", "goes", "accept", edit=900, when="2026-01-01T00:00:01+00:00")
    undo = {**a1, "decision_id": next(_ids), "action": "undo", "decided_at": "2026-01-01T00:00:02+00:00"}
    r1 = {**a1, "decision_id": next(_ids), "action": "reject", "decided_at": "2026-01-01T00:00:03+00:00"}
    other_user = {**a1, "decision_id": next(_ids), "user_id": 2}
    pending = row(S, "day", "days", "accept", edit=901)
    pending_undo = {**pending, "decision_id": next(_ids), "action": "undo", "decided_at": "2026-01-02T00:00:00+00:00"}
    out = list(standing_rows([r1, undo, a1, other_user, pending, pending_undo]))
    assert sorted((r["user_id"], r["action"]) for r in out) == [(1, "reject"), (2, "accept")]


def test_prompts_without_an_instruction_are_left_out_and_counted() -> None:
    rows = [
        row(S, "go", "goes", "accept", intent="meaning-changed"),
        row(S, "go", "goes", "accept", intent=None, doc=2),
    ]
    splits = make_splits("dpo", rows, SEQ, test_fraction=0)
    assert splits.stats.skipped_no_prompt == 1 and len(splits.train) == 1
    assert splits.train[0]["prompt"].startswith("Fix the grammar: ")  # no intent: a grammar fix


def test_split_by_document_never_by_row_and_dedupe() -> None:
    rows = [row(f"Sentence {d} go here.", "go", "goes", "accept", doc=d) for d in range(10) for _ in range(3)]
    splits = make_splits("kto", rows, SEQ, test_fraction=0.3, seed=4)
    assert splits.stats.duplicates == 20  # the same pair three times per document
    assert len(splits.train) == 7 and len(splits.test) == 3 and len(splits.test_documents) == 3
    test_prompts = {r["prompt"] for r in splits.test}
    assert test_prompts == {f"Fix the grammar: Sentence {d} go here." for d in splits.test_documents}
    assert not test_prompts & {r["prompt"] for r in splits.train}
    assert "_document_id" not in splits.train[0]
    # the same seed gives the same split
    assert make_splits("kto", rows, SEQ, test_fraction=0.3, seed=4).test_documents == splits.test_documents
    assert make_splits("kto", rows[:3], SEQ, test_fraction=0.3).test == []  # one document: all train


def test_auto_format_follows_each_edits_proposer_and_refuses_a_mix() -> None:
    seq = row(S, "go", "goes", "accept", kind="hf-seq2seq", params={"prefixes": {"fluency": "Fix grammar:"}})
    chat = row(S, "go", "goes", "accept", kind="hf-chat", doc=2)
    assert list(build_rows("dpo", [seq], None))[0]["prompt"] == "Fix grammar: " + S  # the spec's own prefix
    assert isinstance(list(build_rows("dpo", [chat], None))[0]["prompt"], list)
    with pytest.raises(InputError, match="different prompt formats"):
        make_splits("dpo", [seq, chat], None)
    assert PromptFormat.parse(CHAT).conversational
    with pytest.raises(InputError):
        PromptFormat.parse("yaml")


def test_neighbour_sentences() -> None:
    assert last_sentence("Part of one. The whole one! ") == "The whole one!"
    assert first_sentence(" Next one (here). More.") == "Next one (here)."
    assert last_sentence("no end") == "no end"


def test_read_log_file_jsonl_and_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [row(S, "go", "goes", "accept")]
    (tmp_path / "log.jsonl").write_text(json.dumps(rows[0]) + "\n\n", encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "log.parquet")
    assert list(read_log_file(tmp_path / "log.jsonl")) == rows
    assert list(read_log_file(tmp_path / "log.parquet")) == rows
    (tmp_path / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.jsonl:1"):
        list(read_log_file(tmp_path / "bad.jsonl"))
    with pytest.raises(InputError):
        list(read_log_file(tmp_path / "log.csv"))


# --- accepted by TRL's trainers ------------------------------------------------------------------

SENTENCES = [
    ("She go to school.", "go", "goes"),
    ("He have a cat.", "have", "has"),
    ("They was late.", "was", "were"),
    ("It rain often.", "rain", "rains"),
]


def _decided_rows() -> list[dict[str, Any]]:
    out = []
    for doc, (s, before, after) in enumerate(SENTENCES, 1):
        out.append(row(s, before, after, "accept", doc=doc, kind="hf-chat"))
        out.append(row(s, s.split()[-1], "now.", "reject", doc=doc, kind="hf-chat", intent="clarity"))
    out.append(row("We goes home.", "goes", "go", "modify", modified="went", doc=9, kind="hf-chat"))
    return out


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tinymodels import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("gpt2") / "model")


def _args(config_cls: type, out: Path, **extra: Any) -> Any:  # noqa: ANN401
    return config_cls(
        output_dir=str(out), use_cpu=True, report_to=[], save_strategy="no", max_steps=3,
        per_device_train_batch_size=2, logging_steps=1, disable_tqdm=True, **extra,
    )  # fmt: skip


def _saved(kind: str, tmp_path: Path, file_format: str = "hf", messages: bool = False) -> Any:  # noqa: ANN401
    """Build the splits, save them as an export would, and load them back with `datasets`."""
    from datasets import load_dataset, load_from_disk

    splits = make_splits(kind, _decided_rows(), CHATF, messages=messages, test_fraction=0.2)
    out = save_splits(splits, tmp_path / kind, file_format)
    if file_format == "hf":
        return load_from_disk(str(out))
    return load_dataset("json", data_files={"train": str(out / "train.jsonl"), "test": str(out / "test.jsonl")})


@pytest.mark.slow
@pytest.mark.parametrize("messages", [False, True])
def test_sft_export_trains_with_sfttrainer(tiny_gpt2: Path, tmp_path: Path, messages: bool) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    dd = _saved("sft", tmp_path, "jsonl" if messages else "hf", messages=messages)
    assert dd["train"].column_names == (["messages"] if messages else ["prompt", "completion"])
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_gpt2), args=_args(SFTConfig, tmp_path / "o"),
        train_dataset=dd["train"], eval_dataset=dd.get("test"),
        processing_class=AutoTokenizer.from_pretrained(tiny_gpt2),
    )  # fmt: skip
    out = trainer.train()
    assert out.global_step == 3 and out.training_loss > 0


@pytest.mark.slow
def test_dpo_export_trains_with_dpotrainer(tiny_gpt2: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    dd = _saved("dpo", tmp_path)
    assert dd["train"].column_names == ["prompt", "chosen", "rejected"]
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_gpt2),
        ref_model=AutoModelForCausalLM.from_pretrained(tiny_gpt2),
        args=_args(DPOConfig, tmp_path / "o"), train_dataset=dd["train"],
        processing_class=AutoTokenizer.from_pretrained(tiny_gpt2),
    )  # fmt: skip
    out = trainer.train()
    assert out.global_step == 3
    assert trainer.state.log_history[0]["loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at step 1


@pytest.mark.slow
def test_kto_export_trains_with_ktotrainer(tiny_gpt2: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import KTOConfig, KTOTrainer

    dd = _saved("kto", tmp_path)
    assert dd["train"].column_names == ["prompt", "completion", "label"]
    assert set(dd["train"]["label"]) == {True, False}
    trainer = KTOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_gpt2),
        ref_model=AutoModelForCausalLM.from_pretrained(tiny_gpt2),
        args=_args(KTOConfig, tmp_path / "o"), train_dataset=dd["train"],
        processing_class=AutoTokenizer.from_pretrained(tiny_gpt2),
    )  # fmt: skip
    assert trainer.train().global_step == 3


@pytest.mark.slow
def test_reward_export_trains_with_rewardtrainer(tiny_gpt2: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    dd = _saved("reward", tmp_path)
    assert dd["train"].column_names == ["chosen", "rejected"]
    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_gpt2, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    trainer = RewardTrainer(
        model=model, args=_args(RewardConfig, tmp_path / "o"), train_dataset=dd["train"], processing_class=tokenizer
    )
    assert trainer.train().global_step == 3
