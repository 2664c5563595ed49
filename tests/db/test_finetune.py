"""Fine-tuning end to end: decisions -> export -> train a tiny model (loss falls) -> a registered spec whose
parent is the base -> it proposes in a following round -> its edits trace back to the training run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core import documents
from core.data.export import export_log
from core.data.export_query import ExportFilters
from core.db import session_scope
from core.errors import InputError
from core.models import ProposerSpec
from core.proposers.base import SpecData
from core.proposers.registry import release_proposers
from core.revision import apply, review, rounds, threads
from core.specs import get_or_create_spec, spec_from_row
from core.text.edits import Edit, diff
from core.training.finetune import FinetuneConfig, finetune, lineage, trace_edit

REPO = Path(__file__).resolve().parents[2]
PAIRS = [
    ("She go to school every day.", "She goes to school every day."),
    ("He have two cats.", "He has two cats."),
    ("They was late again.", "They were late again."),
]
INTENTS = ("fluency",)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REDRAFT_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path / "data"
    release_proposers()


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.tinymodels import build_tiny_gpt2, build_tiny_t5

    root = tmp_path_factory.mktemp("models")
    return {"hf-chat": build_tiny_gpt2(root / "gpt2"), "hf-seq2seq": build_tiny_t5(root / "t5")}


def scripted_session(engine: Engine, spec: SpecData, *, reject_one: bool = True, pairs: list | None = None) -> int:
    """One single-sentence document per pair; the spec's round proposes the revision, the person accepts
    it (and rejects a second, made-up edit). Returns the base spec id."""
    with session_scope(engine) as s:
        user = documents.default_user(s)
        for text, revised in pairs or PAIRS:
            doc = documents.create_document(s, text[:12], text)
            thread = threads.active_thread(s, doc.id, user.id)
            rnd = rounds.begin_round(s, thread.id, rounds.RoundSettings(spec=spec, intents=INTENTS))
            rnd.status = "reviewing"
            edits = [replace(e, intent="fluency") for e in diff(text, revised)]
            if reject_one:  # a second proposal the person rejects: "every day" -> "daily" style changes
                last = text.rstrip(".").split()[-1]
                start = text.rindex(last)
                edits.append(Edit(start, start + len(last), last, last.upper(), intent="fluency"))
            rows = rounds.store_edits(s, rnd.id, text, edits)
            review.decide(s, rows[0].id, user.id, "accept")
            for row in rows[1:]:
                review.decide(s, row.id, user.id, "reject")
            apply.apply_round(s, rnd.id, user.id)
        return get_or_create_spec(s, spec).id


@pytest.mark.slow
def test_sft_end_to_end_new_spec_proposes_and_traces_back(
    sqlite_engine: Engine, tiny_models: dict, data_dir: Path
) -> None:
    # SQLite only: the export queries this reads are run on PostgreSQL too in test_export.py.
    engine = sqlite_engine
    base = SpecData(kind="hf-chat", model=str(tiny_models["hf-chat"]), params={"device": "cpu"})
    # One sentence, so that a model this small learns it in a few steps; the pipeline is the same for many.
    base_id = scripted_session(engine, base, pairs=PAIRS[:1])
    seen: list[float] = []
    config = FinetuneConfig(method="sft", max_steps=25, learning_rate=5e-3, batch_size=1, test_fraction=0, use_cpu=True)
    run = finetune(engine, base_id, config, filters=ExportFilters(), progress=lambda p: seen.append(p.loss))
    assert run.status == "done" and run.error is None
    assert run.metrics["final_loss"] < run.metrics["first_loss"] * 0.5  # the loss falls
    assert len(seen) == 25 and run.metrics["steps"] == 25
    assert run.data_snapshot["counts"]["train"] == 1 and run.data_snapshot["source"] == "live"
    assert run.data_snapshot["prompt_style"] == "chat" and run.hyperparams["learning_rate"] == 5e-3
    out = Path(run.output_dir)
    assert out.parent == data_dir / "models" and (out / "config.json").exists()
    with session_scope(engine) as s:
        new = s.get(ProposerSpec, run.result_spec_id)
        assert (new.parent_id, new.kind, new.model) == (base_id, "hf-chat", str(out))
        assert [n.spec.id for n in lineage(s) if n.run is not None] == [new.id]
        new_spec = spec_from_row(new)
        user = documents.default_user(s)
        doc = documents.create_document(s, "again", PAIRS[0][0])
        thread_id = threads.active_thread(s, doc.id, user.id).id
    # The following round, proposed by the new spec.
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(spec=new_spec, intents=INTENTS))
    assert rnd.status == "reviewing", (rnd.status, rnd.error, rnd.dropped)
    with session_scope(engine) as s:
        view = review.round_view(s, rnd.id, user.id)
        assert [(e.row.before, e.row.after) for e in view.edits] == [("go", "goes")]
        trace = trace_edit(s, view.edits[0].row.id)
    assert trace["training_run_id"] == run.id and trace["spec_chain"] == [run.result_spec_id, base_id]


@pytest.mark.slow
def test_seq2seq_dpo_with_lora_from_an_export_file(sqlite_engine: Engine, tiny_models: dict, tmp_path: Path) -> None:
    base = SpecData(kind="hf-seq2seq", model=str(tiny_models["hf-seq2seq"]))
    base_id = scripted_session(sqlite_engine, base)
    export_log(sqlite_engine, ExportFilters(latest_only=True), "parquet", tmp_path / "log.parquet")
    config = FinetuneConfig(method="dpo", lora=True, max_steps=3, batch_size=2, use_cpu=True, test_fraction=0.34)
    run = finetune(sqlite_engine, base_id, config, export_path=tmp_path / "log.parquet")
    assert run.status == "done"
    assert run.metrics["first_loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at the start
    assert run.metrics["eval_loss"] is not None
    assert run.data_snapshot["source"] == "export" and run.data_snapshot["counts"]["rows"] == 6
    assert len(run.data_snapshot["test_documents"]) == 1
    out = Path(run.output_dir)
    assert (out / "adapter" / "adapter_config.json").exists() and (out / "config.json").exists()
    from transformers import AutoModelForSeq2SeqLM

    assert AutoModelForSeq2SeqLM.from_pretrained(out) is not None  # merged: loads like any model


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hf-chat", "hf-seq2seq"])
def test_kto_trains_both_kinds(sqlite_engine: Engine, tiny_models: dict, kind: str) -> None:
    base_id = scripted_session(sqlite_engine, SpecData(kind=kind, model=str(tiny_models[kind])))
    config = FinetuneConfig(method="kto", max_steps=2, batch_size=2, use_cpu=True, test_fraction=0)
    run = finetune(sqlite_engine, base_id, config)
    assert run.status == "done" and run.result_spec_id is not None and run.metrics["steps"] == 2


def test_errors_a_user_can_act_on(sqlite_engine: Engine, tiny_models: dict) -> None:
    with session_scope(sqlite_engine) as s:
        builtin = get_or_create_spec(s, SpecData(kind="builtin")).id
    with pytest.raises(InputError, match="needs a transformers model"):
        finetune(sqlite_engine, builtin, FinetuneConfig())
    chat = SpecData(kind="hf-chat", model=str(tiny_models["hf-chat"]))
    with session_scope(sqlite_engine) as s:
        chat_id = get_or_create_spec(s, chat).id
    with pytest.raises(InputError, match="No SFT training rows"):
        finetune(sqlite_engine, chat_id, FinetuneConfig(use_cpu=True))  # no decisions yet
    with pytest.raises(InputError, match="batch size of at least 2"):
        FinetuneConfig(method="kto", batch_size=1)
    with pytest.raises(InputError, match="Unknown method"):
        FinetuneConfig(method="ppo")


@pytest.mark.slow
def test_cli_finetune_and_models(tmp_path: Path, tiny_models: dict) -> None:
    from core import db

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    base_id = scripted_session(db.open_database(url), SpecData(kind="hf-seq2seq", model=str(tiny_models["hf-seq2seq"])))
    env = {**os.environ, "REDRAFT_DATA_DIR": str(tmp_path / "data")}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "core", "--database-url", url, *args], cwd=REPO, capture_output=True, text=True,
            timeout=300, env=env,
        )  # fmt: skip

    done = cli("finetune", "--spec", str(base_id), "--method", "sft", "--max-steps", "2", "--batch-size", "2", "--cpu",
               "--test-fraction", "0", "--intent", "fluency", "--name", "tuned")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "done" and "step 2/2" in done.stderr
    done = cli("models")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith(f"  {result['result_spec']}\thf-seq2seq\ttuned  <- sft run {result['run']}")


def test_kto_weights_balance_desirable_and_undesirable() -> None:
    from core.training.finetune_data import kto_weights

    assert kto_weights([True, False]) == (1.0, 1.0)
    assert kto_weights([True] + [False] * 3) == (3.0, 1.0)  # 3 x 1 desirable vs 3 undesirable
    assert kto_weights([True] * 4 + [False]) == (1.0, 4.0)
    assert kto_weights([True] * 4 + [False] * 3) == (1.0, 1.0)  # 4/3 is within TRL's advised range
