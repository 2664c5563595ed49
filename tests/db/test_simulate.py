"""Simulated users: corpora, decisions from a reference, and runs stored like a person's (plus the
simulate and stats commands on them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from core.cli import main
from core.db import session_scope
from core.errors import InputError
from core.learning import analytics
from core.models import Decision, Document, Project, Round, Thread, User
from core.text.edits import Edit
from core.training import simulate
from tests.conftest import REPO
from tests.proposers_for_tests import ReplaceProposer

SAMPLE_M2 = REPO / "tests" / "fixtures" / "simulate" / "conll14_sample.m2"


def test_m2_reference_applies_one_annotators_corrections() -> None:
    sentences = simulate.read_m2(SAMPLE_M2, annotator=0)
    assert len(sentences) == 20
    src, ref = sentences[3]  # "People get certain disease because ..." (annotator 0: disease -> diseases)
    assert " ".join(src) == "People get certain disease because of genetic changes ."
    assert " ".join(ref) == "People get certain diseases because of genetic changes ."
    src, ref = sentences[2]  # a deletion: "refers more to" -> "refers to"
    assert "more" in src and "more" not in ref
    # annotator 1 made other choices on the same sentence
    assert sentences[7][0] == sentences[7][1]  # annotator 0: no change ("noop")
    assert "will" in simulate.read_m2(SAMPLE_M2, annotator=1)[7][1]


def test_detokenize() -> None:
    toks = "He said , \" it 's fine \" ( really ) , and the families ' lives do n't change .".split()
    assert simulate.detokenize(toks) == "He said, \"it's fine\" (really), and the families' lives don't change."
    assert simulate.detokenize(["a", "'", "quoted", "'", "word"]) == "a 'quoted' word"


def test_conll_documents_group_consecutive_sentences() -> None:
    docs = simulate.conll14_documents(SAMPLE_M2, sentences_per_document=8)
    assert len(docs) == 3  # 20 sentences: 8 + 8 + 4
    assert docs[0].source.startswith("Keeping the Secret of Genetic Testing What is genetic risk?")
    assert "certain diseases because" in docs[0].reference and "certain disease because" in docs[0].source
    tokenized = simulate.conll14_documents(SAMPLE_M2, sentences_per_document=8, tokenized=True)
    assert "risk ?" in tokenized[0].source


def test_pairs_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        json.dumps({"source": "a b", "target": "a c", "title": "t"})
        + "\n\n"
        + json.dumps({"source": "x", "target": "y"})
        + "\n"
    )
    pairs = simulate.load_corpus(str(path))
    assert [(p.title, p.source, p.reference) for p in pairs] == [("t", "a b", "a c"), ("pairs #3", "x", "y")]
    assert simulate.load_corpus(str(path), documents=1, skip=1)[0].source == "x"
    path.write_text('{"source": "only"}\n')
    with pytest.raises(InputError, match="line 1"):
        simulate.pairs_file(path)
    with pytest.raises(InputError, match="Unknown corpus"):
        simulate.load_corpus("no-such-corpus")


def test_reference_user_accepts_only_edits_that_move_towards_the_reference() -> None:
    base = "Teh cat sat in the mat."
    ref = "The cat sat on the mat."
    good = Edit(0, 3, "Teh", "The", source="lt:SPELL", intent="fluency")
    good2 = Edit(12, 14, "in", "on", source="lt:PREP", intent="fluency")
    bad = Edit(4, 7, "cat", "dog", source="lt:ANIMAL", intent="clarity")
    spaces = Edit(7, 8, " ", "  ", source="lt:WS", intent="fluency")  # whitespace only: no closer
    user = simulate.SimulatedUser()
    assert user.decide(base, [good, good2, bad, spaces], ref) == ["accept", "accept", "reject", "reject"]
    biased = simulate.SimulatedUser("biased", reject_rules=frozenset({"PREP"}), reject_intents=frozenset({"style"}))
    assert biased.decide(base, [good, good2], ref) == ["accept", "reject"]  # a bare rule id matches lt:PREP
    assert simulate.SimulatedUser("biased", reject_rules=frozenset({"lt"})).decide(base, [good], ref) == ["reject"]
    noisy = simulate.SimulatedUser(noise=1.0)
    assert noisy.decide(base, [good, bad], ref) == ["reject", "accept"]
    half = [simulate.SimulatedUser(noise=0.5, seed=s).decide(base, [good] * 50, ref).count("accept") for s in (1, 1, 2)]
    assert half[0] == half[1] and 10 < half[0] < 40  # seeded: reproducible
    with pytest.raises(InputError):
        simulate.SimulatedUser("reference", reject_rules=frozenset({"x"}))
    with pytest.raises(InputError):
        simulate.SimulatedUser(noise=2)
    assert simulate.token_distance("a b c", "a x c") == 1


PAIRS = [
    simulate.Pair("one", "Teh cat and teh dog sat. It is a sunny day.", "The cat and the dog sat. It is a sunny day."),
    simulate.Pair("two", "Teh end is near, teh sunny end.", "The end is near, the sunny end."),
    simulate.Pair("three", "A sunny teh morning.", "A sunny the morning."),
]
RULES = {"Teh": "The", "teh": "the", "sunny": "bright"}


def test_a_run_is_stored_like_a_persons_work(engine) -> None:
    proposer = ReplaceProposer(RULES)
    summary = simulate.run_simulation(engine, PAIRS, simulate.SimulatedUser(), proposer=proposer, corpus="test")
    assert summary.documents == 3 and summary.learning
    # the reference user accepts the 5 spelling fixes and rejects 3 "sunny" edits; round 2 brings nothing new
    assert (summary.shown, summary.accepted, summary.rejected) == (8, 5, 3)
    assert summary.distance_after == 0 and summary.distance_before == 5
    with session_scope(engine) as s:
        user = s.get(User, summary.user_id)
        assert user.simulated and user.name.startswith("sim-reference-")
        project = s.get(Project, summary.project_id)
        refs = project.settings["simulation"]["references"]
        assert sorted(refs.values()) == sorted(p.reference for p in PAIRS)
        threads = s.exec(select(Thread).join(Document).where(Document.project_id == project.id)).all()
        assert len(threads) == 3 and all(t.simulated and t.user_id == user.id for t in threads)
        decisions = s.exec(select(Decision).where(Decision.user_id == user.id)).all()
        assert len(decisions) == 8 and all(d.simulated for d in decisions)
        rounds_ = s.exec(select(Round).join(Thread).where(Thread.user_id == user.id)).all()
        assert {r.status for r in rounds_} <= {"applied", "finished"}
        texts, references = analytics.load_round_texts(s, project.id)
        curve = analytics.distance_by_round(texts, references)
        assert curve[0]["mean_distance"] == pytest.approx(5 / 3) and curve[-1]["mean_distance"] == 0
        records = analytics.load_records(s, analytics.Filters(project_id=project.id, simulated=True))
        assert analytics.tally(records)["accepted"] == 5


def test_learning_off_sees_rejected_edits_again(engine) -> None:
    proposer = ReplaceProposer(RULES)
    on = simulate.run_simulation(engine, PAIRS, simulate.SimulatedUser(), proposer=proposer, learning=True)
    off = simulate.run_simulation(engine, PAIRS, simulate.SimulatedUser(), proposer=proposer, learning=False)
    assert on.accepted == off.accepted == 5 and on.distance_after == off.distance_after == 0
    # without learning the rejected "sunny" edits come back in rounds 2 and 3
    assert off.rejected == 3 * 3 and off.rounds == 9
    assert on.rejected == 3 and on.acceptance_shown > off.acceptance_shown
    assert on.project_id != off.project_id


def test_biased_user_rule_is_muted_after_three_rejections(engine) -> None:
    pairs = [simulate.Pair(f"d{i}", "Teh sunny day.", "The sunny day.") for i in range(5)]
    user = simulate.SimulatedUser("biased", reject_rules=frozenset({"test:Teh"}))
    summary = simulate.run_simulation(engine, pairs, user, proposer=ReplaceProposer(RULES), threshold=0.0)
    with session_scope(engine) as s:
        records = analytics.load_records(s, analytics.Filters(project_id=summary.project_id))
    by_source = {r["source"]: r for r in analytics.acceptance_by(records, "source")}
    # "Teh" shown and rejected in the first three documents, then hidden; "sunny" the same
    assert by_source["test:Teh"]["shown"] == 3 and by_source["test:Teh"]["hidden"] >= 2
    assert by_source["test:sunny"]["shown"] == 3


def test_simulate_and_stats_commands(engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"source": p.source, "target": p.reference}) + "\n" for p in PAIRS))
    assert (
        main(
            [
                "--database-url",
                db_url,
                "simulate",
                "--corpus",
                str(path),
                "--json",
                "--project",
                "cli run",
                "--proposer",
                "builtin",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] == 3 and summary["learning"] is True
    assert summary["distance_after"] < summary["distance_before"]  # the builtin fixes "Teh" at least
    assert main(["--database-url", db_url, "stats", "--by", "depth", "--project", "cli run", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["depth"] == 1 and rows[0]["decided"] == rows[0]["shown"] > 0
    assert main(["--database-url", db_url, "stats", "--by", "source", "--simulated", "yes"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["source", "proposed", "shown"] and "lingotweaker:" in table
    assert main(["--database-url", db_url, "stats", "--view", "distance", "--project", "cli run"]) == 0
    assert "share_of_start" in capsys.readouterr().out
    assert main(["--database-url", db_url, "stats", "--view", "preference"]) == 0
    assert "No predictions" in capsys.readouterr().out  # 3 documents: too few decisions for a model
    assert main(["--database-url", db_url, "stats", "--user", "nobody"]) == 2
    assert "No user named 'nobody'" in capsys.readouterr().err
    assert (
        main(
            ["--database-url", db_url, "simulate", "--corpus", str(path), "--user", "reference", "--reject-rules", "x"]
        )
        == 2
    )
    assert "biased" in capsys.readouterr().err
