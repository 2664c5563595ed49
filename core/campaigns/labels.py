"""The label that stands for each shared edit, how it was reached, the adjudication queue, and
each person's accuracy on gold edits.

Sources: adjudicated (an adjudicator's latest label), unanimous (everyone who finished agrees),
majority (one label has more than half the votes), unresolved (a tie, or nobody yet). An edit goes
to the adjudication queue when two people or more judged it and the share of its most common label
is below the campaign's `min_agreement` (1.0: any disagreement), until it is adjudicated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session, col, select

from core.campaigns import model
from core.campaigns.agreement import Unit
from core.campaigns.units import campaign_units
from core.decisions import Action, check_action
from core.errors import InputError
from core.models import Adjudication, Campaign, Edit, id_of

MIN_GOLD_EDITS = 5  # judged gold edits before a person can be paused for low accuracy


class LabelSource(StrEnum):
    UNANIMOUS = "unanimous"
    MAJORITY = "majority"
    ADJUDICATED = "adjudicated"
    UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class StandingLabel:
    edit_id: int
    item_id: int
    label: str | None  # accept | reject | modify; None when unresolved
    modified_text: str | None
    source: LabelSource
    judges: int
    agreement: float | None  # share of the most common label
    votes: dict[int, str] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)

    @property
    def disputed(self) -> bool:
        return self.judges >= 2 and self.agreement is not None and self.agreement < 1.0


def latest_adjudications(session: Session, campaign_id: int) -> dict[int, Adjudication]:
    query = select(Adjudication).where(Adjudication.campaign_id == campaign_id).order_by(col(Adjudication.id))
    return {a.edit_id: a for a in session.exec(query)}  # later rows overwrite: the latest counts


def _vote(unit: Unit) -> tuple[str | None, str | None, float | None, bool]:
    """(label, rewrite, share of the top label, unique top) from the votes."""
    if not unit.labels:
        return None, None, None, False
    counts = Counter(unit.labels.values()).most_common()
    top, n = counts[0]
    unique = len(counts) == 1 or counts[1][1] < n
    rewrite = None
    if top == Action.MODIFY:
        texts = Counter(t for u, t in unit.extra.get("texts", {}).items() if unit.labels.get(u) == top)
        rewrite = texts.most_common(1)[0][0] if texts else None
    return top, rewrite, n / len(unit.labels), unique


def label_of(unit: Unit, adjudication: Adjudication | None) -> StandingLabel:
    top, rewrite, share, unique = _vote(unit)
    label, text, source = None, None, LabelSource.UNRESOLVED
    if adjudication is not None:
        label, text, source = adjudication.action, adjudication.modified_text, LabelSource.ADJUDICATED
    elif top is not None and share == 1.0:
        label, text, source = top, rewrite, LabelSource.UNANIMOUS
    elif top is not None and unique and share is not None and share > 0.5:
        label, text, source = top, rewrite, LabelSource.MAJORITY
    return StandingLabel(
        edit_id=int(unit.key),
        item_id=int(unit.extra.get("item_id", 0)),
        label=label,
        modified_text=text,
        source=source,
        judges=len(unit.labels),
        agreement=None if share is None else round(share, 4),
        votes=dict(unit.labels),
        texts=dict(unit.extra.get("texts", {})),
    )


def standing_labels(session: Session, campaign: Campaign) -> list[StandingLabel]:
    """The label that stands for every shared edit of the campaign's regular items."""
    adjudicated = latest_adjudications(session, id_of(campaign))
    return [label_of(u, adjudicated.get(int(u.key))) for u in campaign_units(session, id_of(campaign))]


def adjudication_queue(session: Session, campaign: Campaign) -> list[StandingLabel]:
    """Edits two people or more disagree on (below the campaign's threshold), not adjudicated yet."""
    return [
        lab
        for lab in standing_labels(session, campaign)
        if lab.source != LabelSource.ADJUDICATED
        and lab.judges >= 2
        and lab.agreement is not None
        and lab.agreement < campaign.min_agreement
    ]


def adjudicate(
    session: Session,
    campaign: Campaign,
    edit_id: int,
    action: str,
    user_id: int,
    *,
    modified_text: str | None = None,
    comment: str | None = None,
) -> Adjudication:
    """Record an adjudicator's label for a shared edit (the latest one counts)."""
    act = check_action(action, modified_text)
    if act == Action.UNDO:
        raise InputError("An adjudication is accept, reject or modify.")
    rounds = model.ready_round_ids(session, id_of(campaign))
    edit = session.get(Edit, edit_id)
    if edit is None or edit.round_id not in rounds:
        raise InputError(f"Edit {edit_id} is not a shared edit of this campaign.")
    row = Adjudication(
        campaign_id=id_of(campaign),
        edit_id=edit_id,
        user_id=user_id,
        action=act.value,
        modified_text=modified_text if act == Action.MODIFY else None,
        comment=comment or None,
    )
    session.add(row)
    session.flush()
    return row


# --- gold ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldScore:
    user_id: int
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


def gold_scores(session: Session, campaign: Campaign) -> dict[int, GoldScore]:
    """Each person's standing labels on finished gold items against the known answers."""
    answers: dict[int, str] = {}
    for item in model.items(session, id_of(campaign)):
        if item.is_gold:
            answers |= {int(k): v for k, v in item.gold_answers.items()}
    tally: dict[int, list[int]] = {}
    for unit in campaign_units(session, id_of(campaign), gold=True):
        expected = answers.get(int(unit.key))
        if expected is None:
            continue
        for user_id, label in unit.labels.items():
            t = tally.setdefault(user_id, [0, 0])
            t[0] += label == expected
            t[1] += 1
    return {u: GoldScore(u, c, n) for u, (c, n) in tally.items()}


def pause_if_below(session: Session, campaign: Campaign, user_id: int) -> bool:
    """Pause a person whose gold accuracy fell below the campaign's threshold; True if paused."""
    if campaign.gold_min_accuracy is None:
        return False
    score = gold_scores(session, campaign).get(user_id)
    if score is None or score.total < MIN_GOLD_EDITS or score.accuracy is None:
        return False
    if score.accuracy >= campaign.gold_min_accuracy:
        return False
    reason = f"gold accuracy {score.accuracy:.0%} on {score.total} edits, below {campaign.gold_min_accuracy:.0%}"
    model.set_paused(session, id_of(campaign), user_id, True, reason)
    return True
