"""A campaign's data in the existing export shapes: every person's decision per shared edit (the log
rows of core.data.export_query, with the label that stands beside each), one row per shared edit
with the label that stands and how it was reached, the agreement figures, and TRL datasets (DPO,
KTO, reward, SFT) built from the labels that stand (core.data.trl_data does the building).

Only people who finished an item count (as for agreement). Unresolved edits (ties, nobody yet) are
left out of TRL data, or kept with the proposed edit as the chosen side (`unresolved="chosen"`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from core.campaigns import agreement, assignment, labels, model, units
from core.campaigns.labels import LabelSource, StandingLabel
from core.data import trl_data
from core.data.export_query import ExportFilters, iter_decision_rows
from core.data.export_rows import final_text
from core.decisions import Action
from core.errors import InputError
from core.models import Campaign, Round, id_of

UNRESOLVED_POLICIES = ("drop", "chosen")


def _thread_ids(session: Session, campaign_id: int) -> tuple[int, ...]:
    rounds = list(model.ready_round_ids(session, campaign_id))
    if not rounds:
        return ()
    query = select(Round.thread_id).where(col(Round.id).in_(rounds))
    return tuple(sorted(set(session.exec(query))))


def _label_columns(lab: StandingLabel | None) -> dict[str, Any]:
    if lab is None:
        return {"label": None, "label_text": None, "label_source": None, "label_agreement": None, "label_judges": 0}
    return {
        "label": lab.label,
        "label_text": lab.modified_text,
        "label_source": lab.source.value,
        "label_agreement": lab.agreement,
        "label_judges": lab.judges,
    }


def decision_rows(session: Session, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """Each finisher's standing decision per shared edit, with the campaign and the label that stands."""
    threads = _thread_ids(session, id_of(campaign))
    if not threads:
        return
    standing = {lab.edit_id: lab for lab in labels.standing_labels(session, campaign)}
    finishers = assignment.done_by_item(session, id_of(campaign))
    item_of = model.ready_round_ids(session, id_of(campaign))
    for row in iter_decision_rows(session, ExportFilters(thread_ids=threads, latest_only=True)):
        if row["user_id"] not in finishers.get(item_of.get(row["round_id"], -1), set()):
            continue
        lab = standing.get(row["edit_id"])
        yield {**row, "campaign_id": campaign.id, "campaign_name": campaign.name, **_label_columns(lab)}


def label_rows(session: Session, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """One row per shared edit: its text and context (as the log rows carry them), every person's
    vote, and the label that stands as the row's action (None when unresolved)."""
    votes: dict[int, dict[str, str]] = {}
    rows: dict[int, dict[str, Any]] = {}
    for row in decision_rows(session, campaign):
        votes.setdefault(row["edit_id"], {})[row["user_name"]] = row["action"]
        rows.setdefault(row["edit_id"], row)
    for edit_id, row in rows.items():
        label, text = row["label"], row["label_text"]
        out = {k: v for k, v in row.items() if not k.startswith("user_") and k not in ("decision_id", "comment")}
        out |= {"votes": votes[edit_id], "action": label, "modified_text": text if label == Action.MODIFY else None}
        if label is not None:
            head = row["sentence"][: row["edit_offset"]]
            tail = row["sentence"][row["edit_offset"] + len(row["before"]) :]
            out["sentence_final"] = head + final_text(label, row["before"], row["after"], text) + tail
        yield out


def agreement_summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    found = units.campaign_units(session, id_of(campaign))
    counts: dict[str, int] = {s.value: 0 for s in LabelSource}
    for lab in labels.standing_labels(session, campaign):
        counts[lab.source.value] += 1
    return {
        "campaign": campaign.name,
        "overall": agreement.figures(found).as_dict(),
        "by_intent": agreement.by_group(found, "intent"),
        "by_source": agreement.by_group(found, "source"),
        "labels": counts,
    }


def trl_rows(session: Session, campaign: Campaign, unresolved: str = "drop") -> Iterator[dict[str, Any]]:
    """Label rows ready for core.data.trl_data's builders: one 'person' (the campaign) per edit."""
    if unresolved not in UNRESOLVED_POLICIES:
        raise InputError(f"Unresolved edits are one of {', '.join(UNRESOLVED_POLICIES)}, not {unresolved!r}.")
    for n, row in enumerate(label_rows(session, campaign)):
        if row["action"] is None:
            if unresolved == "drop":
                continue
            row = {**row, "action": Action.ACCEPT.value, "sentence_final": row["sentence_after"]}
        yield {**row, "user_id": 0, "decision_id": n}


def trl_splits(
    session: Session,
    campaign: Campaign,
    kind: str,
    *,
    unresolved: str = "drop",
    fmt: trl_data.PromptFormat | None = None,
    test_fraction: float = 0.1,
) -> trl_data.TrlSplits:
    """TRL train/test splits (by document) of `kind` from the labels that stand."""
    return trl_data.make_splits(kind, trl_rows(session, campaign, unresolved), fmt, test_fraction=test_fraction)
