"""What earlier decisions in a thread feed into the next round.

- rejected edits are never proposed again for the same text (matched on content and
  neighbourhood, not offsets, so earlier edits shifting the text don't matter);
- free-text feedback of every earlier round is carried into the request;
- accepted and rewritten edits become in-context examples for prompted models.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from core.edits import Edit
from core.models import Decision, Round, Thread, Version
from core.models import Edit as EditRow
from core.proposers.base import Avoid, Example

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
    hidden_reason: str | None = None
    predicted_accept: float | None = None


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


def decided_edits(session: Session, thread: Thread) -> list[tuple[EditRow, str, str | None, str]]:
    """(edit, final action, rewritten text, base text) for every decided edit of the thread's owner."""
    from core.rounds import replay  # local: rounds imports this module

    query = (
        select(EditRow, Decision, Version.text)
        .join(Round, Round.id == EditRow.round_id)
        .join(Version, Version.id == Round.base_version_id)
        .join(Decision, Decision.edit_id == EditRow.id)
        .where(Round.thread_id == thread.id, Decision.user_id == thread.user_id)
        .order_by(EditRow.id, Decision.created_at, Decision.id)
    )
    grouped: dict[int, tuple[EditRow, list[Decision], str]] = {}
    for edit, decision, base_text in session.exec(query).all():
        grouped.setdefault(edit.id, (edit, [], base_text))[1].append(decision)
    out = []
    for edit, decisions, base_text in grouped.values():
        action, text = replay(decisions)
        if action != "pending":
            out.append((edit, action, text, base_text))
    return out


def rejection_index(decided: Iterable[tuple[EditRow, str, str | None, str]]) -> RejectionIndex:
    index = RejectionIndex()
    for edit, action, _text, base_text in decided:
        if action == "reject":
            index.add(neighbourhood(base_text, edit.start, edit.end, edit.before, edit.after))
    return index


def request_context(session: Session, thread: Thread, new_feedback: str = "") -> RequestContext:
    """Feedback, examples and changes to avoid for the next request of this thread."""
    rounds = session.exec(select(Round).where(Round.thread_id == thread.id).order_by(Round.id)).all()
    # the same note repeated over rounds counts once, oldest first
    texts = list(dict.fromkeys([*(r.feedback for r in rounds if r.feedback), new_feedback.strip()]))
    texts = [t for t in texts if t]
    decided = decided_edits(session, thread)
    examples = [
        Example(before=e.before, after=(text if action == "modify" else e.after) or "", intent=e.intent)
        for e, action, text, _ in decided
        if action in ("accept", "modify")
    ][-MAX_EXAMPLES:]
    avoid = [Avoid(before=e.before, after=e.after, context=e.context or "") for e, a, _, _ in decided if a == "reject"]
    return RequestContext(feedback=tuple(texts), examples=tuple(examples), avoid=tuple(avoid))


def screen_edits(session: Session, thread: Thread, base_text: str, edits: list[Edit]) -> list[ScreenedEdit]:
    """Drop edits the person already rejected in this thread; the rest are stored."""
    index = rejection_index(decided_edits(session, thread))
    kept = []
    for e in edits:
        if len(index) and index.matches(neighbourhood(base_text, e.start, e.end, e.before, e.after)):
            continue
        kept.append(ScreenedEdit(edit=e))
    return kept


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
