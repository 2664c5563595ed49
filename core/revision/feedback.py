"""What earlier decisions feed into the next round, and which new edits a person sees.

- Suppression: an edit the person rejected in a thread is never proposed again in that thread for
  the same text. The rejected span is mapped through the changes between its version and the new
  one (so earlier edits shifting offsets don't matter), and also matched on its content and
  neighbouring words (so it is found even where the text around it was rewritten).
- Free-text feedback of every round of the thread is carried into each later request, with a few of
  the person's accepted and rewritten edits as examples (prompted models put both in the prompt).
- Muting (`core.learning.muting`): edits of rules or intents the person (or an admin, for the project) muted
  are stored but hidden, with the reason.
- Preference (`core.learning.preference`): each new edit gets the person's predicted acceptance; edits below
  the person's threshold are hidden like muted ones. The review lists edits most-likely first.

A person's learning can be switched off (`LearningProfile.learning`, the simulator's --no-learning):
then nothing is suppressed, muted automatically or predicted; mutes made by hand still apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import decisions
from core.db import read_scope
from core.decisions import EditStatus
from core.documents import get_document
from core.learning import hidden, muting, preference
from core.learning.hidden import Hidden
from core.models import Edit as EditRow
from core.models import Round, Thread, Version, id_of
from core.proposers.base import Avoid, Example
from core.text.edits import Edit, diff
from core.text.terms import term_spans, touched_term

NEIGHBOUR_WORDS = 3
CONTEXT_CHARS = 160
MAX_EXAMPLES = 8
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class RequestContext:
    feedback: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    avoid: tuple[Avoid, ...] = ()
    disabled_rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScreenedEdit:
    edit: Edit
    hidden: Hidden | None = None
    predicted_accept: float | None = None

    @property
    def hidden_reason(self) -> str | None:
        return self.hidden.text if self.hidden else None

    @property
    def hidden_kind(self) -> str | None:
        return self.hidden.kind.value if self.hidden else None

    @property
    def hidden_value(self) -> str | None:
        return self.hidden.value if self.hidden else None


@dataclass(frozen=True)
class Neighbourhood:
    before: str
    after: str
    left: tuple[str, ...]
    right: tuple[str, ...]


def _norm(text: str) -> str:
    return " ".join(text.split())


def neighbourhood(text: str, start: int, end: int, before: str, after: str) -> Neighbourhood:
    """An edit identified by what it changes and the words around it (not its offsets)."""
    left = tuple(_WORD.findall(text[max(0, start - CONTEXT_CHARS) : start]))[-NEIGHBOUR_WORDS:]
    right = tuple(_WORD.findall(text[end : end + CONTEXT_CHARS]))[:NEIGHBOUR_WORDS]
    return Neighbourhood(_norm(before), _norm(after), left, right)


@dataclass
class RejectionIndex:
    """Rejected changes of a thread; an edit matches if it makes the same change with the same words on
    at least one side (an accepted edit next to it may have changed the other side)."""

    by_change: dict[tuple[str, str], list[Neighbourhood]] = field(default_factory=dict)

    def add(self, n: Neighbourhood) -> None:
        self.by_change.setdefault((n.before, n.after), []).append(n)

    def matches(self, n: Neighbourhood) -> bool:
        for old in self.by_change.get((n.before, n.after), ()):
            if (old.left and old.left == n.left) or (old.right and old.right == n.right):
                return True
            if not old.left and not old.right and not n.left and not n.right:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_change.values())


def map_span(changes: Sequence[Edit], start: int, end: int) -> tuple[int, int] | None:
    """Where text[start:end] is after `changes` (sorted, non-overlapping edits of the text), or None if
    a change touches the inside of the span. Text inserted right at either end leaves the span intact."""
    shift = 0
    for c in changes:
        if c.end <= start:
            shift += len(c.after) - len(c.before)
        elif c.start >= end:
            break
        else:
            return None
    return start + shift, end + shift


def decided_edits(session: Session, thread: Thread) -> list[tuple[EditRow, str, str | None, str]]:
    """(edit, final action, rewritten text, base text) for every decided edit of the thread's owner."""
    decided = decisions.for_thread(session, id_of(thread), thread.user_id)
    round_ids = {edit.round_id for edit, _, _ in decided}
    base_texts = (
        dict(
            session.exec(
                select(Round.id, Version.text)
                .join(Version, col(Version.id) == col(Round.base_version_id))
                .where(col(Round.id).in_(round_ids))
            ).all()
        )
        if round_ids
        else {}
    )
    return [(edit, st.status.value, st.modified_text, base_texts[edit.round_id]) for edit, st, _ in decided]


def rejection_index(decided: Iterable[tuple[EditRow, str, str | None, str]]) -> RejectionIndex:
    index = RejectionIndex()
    for edit, action, _text, base_text in decided:
        if action == EditStatus.REJECT:
            index.add(neighbourhood(base_text, edit.start, edit.end, edit.before, edit.after))
    return index


class Suppressor:
    """Tells whether a new edit on `base_text` repeats a change the person rejected in the thread."""

    def __init__(self, decided: Iterable[tuple[EditRow, str, str | None, str]], base_text: str) -> None:
        rejected = [(e, base) for e, action, _t, base in decided if action == EditStatus.REJECT]
        self.index = rejection_index((e, EditStatus.REJECT, None, base) for e, base in rejected)
        self.exact: set[tuple[int, int, str, str]] = set()
        changes_by_base: dict[str, list[Edit] | None] = {}
        for e, base in rejected:
            if base not in changes_by_base:
                changes_by_base[base] = [] if base == base_text else diff(base, base_text)
            mapped = map_span(changes_by_base[base] or [], e.start, e.end)
            if mapped is not None:
                self.exact.add((mapped[0], mapped[1], e.before, e.after))

    def __len__(self) -> int:
        return len(self.index)

    def matches(self, base_text: str, e: Edit) -> bool:
        if (e.start, e.end, e.before, e.after) in self.exact:
            return True
        return bool(len(self.index)) and self.index.matches(neighbourhood(base_text, e.start, e.end, e.before, e.after))


def project_id_of(session: Session, thread: Thread) -> int:
    return get_document(session, thread.document_id).project_id


def _examples(session: Session, thread: Thread, decided: list[tuple[EditRow, str, str | None, str]]) -> list[Example]:
    """Up to MAX_EXAMPLES of the person's accepted and rewritten edits: rewrites first (they say most),
    this thread's before other documents', newest first."""

    def as_example(e: EditRow, action: str, text: str | None) -> Example:
        return Example(before=e.before, after=(text if action == EditStatus.MODIFY else e.after) or "", intent=e.intent)

    here = [(e, a, t) for e, a, t, _ in decided if a in (EditStatus.ACCEPT, EditStatus.MODIFY)]
    picked = sorted(reversed(here), key=lambda x: x[1] != EditStatus.MODIFY)[:MAX_EXAMPLES]
    out = [as_example(*x) for x in picked]
    if len(out) < MAX_EXAMPLES:
        seen = {(x.before, x.after) for x in out}
        for ex in preference.decision_examples(
            session, project_id_of(session, thread), user_id=thread.user_id, newest_first=True
        ):
            if len(out) >= MAX_EXAMPLES:
                break
            if ex.accepted and ex.thread_id != thread.id and (ex.edit.before, ex.final_after) not in seen:
                seen.add((ex.edit.before, ex.final_after))
                out.append(Example(before=ex.edit.before, after=ex.final_after, intent=ex.edit.intent))
    # oldest first, as a prompt reads
    return out[::-1]


def request_context(session: Session, thread: Thread, new_feedback: str = "") -> RequestContext:
    """Feedback, examples and changes to avoid for the next request of this thread."""
    rounds = session.exec(select(Round).where(Round.thread_id == thread.id).order_by(col(Round.id))).all()
    # the same note repeated over rounds counts once, oldest first
    texts = list(dict.fromkeys([*(r.feedback for r in rounds if r.feedback), new_feedback.strip()]))
    texts = [t for t in texts if t]
    profile = preference.get_profile(session, project_id_of(session, thread), thread.user_id)
    if not profile.learning:
        return RequestContext(feedback=tuple(texts))
    decided = decided_edits(session, thread)
    examples = _examples(session, thread, decided)
    rejected = [e for e, a, _, _ in decided if a == EditStatus.REJECT]
    avoid = [Avoid(before=e.before, after=e.after, context=e.context or "") for e in rejected]
    return RequestContext(feedback=tuple(texts), examples=tuple(examples), avoid=tuple(avoid))


def refresh_model(engine: Engine, thread_id: int) -> None:
    """Refit the thread owner's acceptance model if it is stale, before the edits are stored and
    screened: the fit runs outside the write transaction that stores them."""
    with read_scope(engine) as s:
        thread = s.get(Thread, thread_id)
        if thread is None:
            return
        project_id, user_id = project_id_of(s, thread), thread.user_id
        learning = preference.get_profile(s, project_id, user_id).learning
    if learning:
        preference.refresh(engine, project_id, user_id)


def screen_edits(
    session: Session, thread: Thread, base_text: str, edits: list[Edit], protected_terms: Sequence[str] = ()
) -> list[ScreenedEdit]:
    """Drop edits the person already rejected in this thread; mark the rest hidden (touching a protected
    term, muted, or predicted below the person's threshold) or shown, with the predicted acceptance.
    Document order is kept. Protected terms hide edits whatever the learning settings: the writer
    asked for them by hand, and a model may ignore what its prompt says."""
    project_id = project_id_of(session, thread)
    user_id = thread.user_id
    profile = preference.get_profile(session, project_id, user_id)
    learning = profile.learning
    if learning:
        suppressor = Suppressor(decided_edits(session, thread), base_text)
        edits = [e for e in edits if not suppressor.matches(base_text, e)]
        muting.refresh_auto_mutes(session, project_id, user_id, profile.auto_mute_after)
    mutes = muting.active_mutes(session, project_id, user_id, automatic=learning)
    model = preference.stored_model(session, project_id, user_id) if learning and edits else None
    predicted: list[float | None] = [None] * len(edits)
    if model is not None:
        predicted = list(model.predict_edits(edits, [edit_context(base_text, e) for e in edits]))
    spans = term_spans(base_text, protected_terms)
    out = []
    for e, p in zip(edits, predicted, strict=True):
        term = touched_term(spans, e.start, e.end) if spans else None
        reason = (
            hidden.protected(term)
            if term is not None
            else mutes.reason(e.source or None, e.intent) or preference.hides(profile, model, p)
        )
        out.append(ScreenedEdit(edit=e, hidden=reason, predicted_accept=None if p is None else round(p, 4)))
    return out


def edit_context(text: str, edit: Edit) -> str:
    """The sentence around an edit (up to CONTEXT_CHARS either side, cut at sentence ends)."""
    lo = max(0, edit.start - CONTEXT_CHARS)
    hi = min(len(text), edit.end + CONTEXT_CHARS)
    left = text[lo : edit.start]
    right = text[edit.end : hi]
    cut = max(left.rfind(". "), left.rfind("\n"), left.rfind("? "), left.rfind("! "))
    if cut >= 0:
        left = left[cut + 1 :].lstrip()
    ends = [i for i in (right.find(". "), right.find("\n"), right.find("? "), right.find("! ")) if i >= 0]
    if ends:
        right = right[: min(ends) + 1]
    return left + edit.before + right


# --- for the review page ---------------------------------------------------------------------------

T = TypeVar("T")


def most_likely_first(items: Sequence[T], predicted: Iterable[float | None]) -> list[T]:
    """Items ordered by predicted acceptance, highest first; unpredicted ones keep their order, last."""
    scored = list(zip(items, predicted, strict=True))
    ranked = sorted(range(len(scored)), key=lambda i: (scored[i][1] is None, -(scored[i][1] or 0.0), i))
    return [scored[i][0] for i in ranked]
