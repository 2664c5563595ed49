"""A campaign and what it holds: its items (documents, one shared round each), its annotators, its
gold items with their known answers.

An item's shared round lives in a thread of the campaign's creator that is finished from the start
(so it never blocks their own revision of the document and is never applied); its edits are made
once, unscreened, and frozen. Every annotator decides those same edit rows: decisions are keyed by
(edit, person) already, and each person sees only their own (core.revision.review).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import documents, projects, specs
from core.decisions import Action
from core.errors import ConflictError, InputError, NotFoundError
from core.models import (
    Campaign,
    CampaignItem,
    CampaignMember,
    CampaignStatus,
    Edit,
    ItemStatus,
    Role,
    User,
    id_of,
)
from core.proposers import check_intents
from core.proposers.base import DEFAULT_INTENTS, SpecData

MAX_GUIDELINES_CHARS = 50_000
MAX_OVERLAP = 50
GOLD_LABELS = (Action.ACCEPT.value, Action.REJECT.value, Action.MODIFY.value)


@dataclass(frozen=True)
class CampaignSettings:
    """What a researcher chooses when creating a campaign."""

    name: str
    project_id: int
    document_ids: Sequence[int]
    spec: SpecData = field(default_factory=lambda: SpecData(kind="builtin"))
    intents: tuple[str, ...] = DEFAULT_INTENTS
    overlap: int = 2
    rounds_per_item: int = 1
    guidelines: str = ""
    gold_document_ids: Sequence[int] = ()
    gold_every: int = 0
    gold_min_accuracy: float | None = None
    reservation_minutes: int = 30
    min_agreement: float = 1.0
    annotator_ids: Sequence[int] = ()


def _check(settings: CampaignSettings) -> None:
    if not settings.name.strip():
        raise InputError("Give the campaign a name.")
    if not 1 <= settings.overlap <= MAX_OVERLAP:
        raise InputError(f"The overlap (people per item) must be between 1 and {MAX_OVERLAP}.")
    if settings.rounds_per_item != 1:
        raise InputError("Campaigns judge one round per item for now (rounds per item: 1).")
    if len(settings.guidelines) > MAX_GUIDELINES_CHARS:
        raise InputError(f"The guidelines are longer than {MAX_GUIDELINES_CHARS:,} characters.")
    if not settings.document_ids and not settings.gold_document_ids:
        raise InputError("Choose at least one document.")
    if settings.gold_every < 0 or settings.reservation_minutes < 1:
        raise InputError("Gold frequency must be 0 or more and reservations last at least a minute.")
    if not 0.0 < settings.min_agreement <= 1.0:
        raise InputError("The agreement below which an edit is adjudicated must be in (0, 1].")
    if settings.gold_min_accuracy is not None and not 0.0 <= settings.gold_min_accuracy <= 1.0:
        raise InputError("The gold accuracy threshold must be between 0 and 1.")
    if not settings.intents:
        raise InputError("Choose at least one intent.")
    check_intents(settings.intents)


def create_campaign(session: Session, settings: CampaignSettings, created_by: int) -> Campaign:
    """Store a campaign (preparing), its items and annotators; the proposals are made by a job
    (core.campaigns.proposing)."""
    _check(settings)
    gold = set(settings.gold_document_ids)
    doc_ids = list(dict.fromkeys([*settings.document_ids, *settings.gold_document_ids]))
    for doc_id in doc_ids:
        doc = documents.get_document(session, doc_id)
        if doc.project_id != settings.project_id:
            raise InputError(f"Document {doc_id} ({doc.title}) is not in this campaign's project.")
        documents.head_version(session, doc_id)  # a document with no text cannot be proposed on
    spec = projects.spec_for_project(session, settings.project_id, settings.spec)
    spec_row = specs.get_or_create_spec(session, spec)
    campaign = Campaign(
        project_id=settings.project_id,
        name=settings.name.strip(),
        created_by_id=created_by,
        spec_id=spec_row.id,
        intents=list(settings.intents),
        rounds_per_item=settings.rounds_per_item,
        overlap=settings.overlap,
        guidelines=settings.guidelines,
        gold_every=settings.gold_every,
        gold_min_accuracy=settings.gold_min_accuracy,
        reservation_minutes=settings.reservation_minutes,
        min_agreement=settings.min_agreement,
    )
    try:
        with session.begin_nested():
            session.add(campaign)
            session.flush()
    except IntegrityError:
        raise InputError(f"A campaign named {settings.name.strip()!r} exists already; choose another name.") from None
    session.add_all(CampaignItem(campaign_id=id_of(campaign), document_id=d, is_gold=d in gold) for d in doc_ids)
    add_members(session, id_of(campaign), settings.annotator_ids)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"No campaign with id {campaign_id}.")
    return campaign


def find_campaign(session: Session, ref: str | int) -> Campaign:
    """A campaign by id or name."""
    if isinstance(ref, int) or ref.isdigit():
        return get_campaign(session, int(ref))
    found = session.exec(select(Campaign).where(Campaign.name == ref)).first()
    if found is None:
        raise NotFoundError(f"No campaign named {ref!r}.")
    return found


def list_campaigns(session: Session, project_id: int | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(col(Campaign.id).desc())
    if project_id is not None:
        query = query.where(Campaign.project_id == project_id)
    return list(session.exec(query).all())


def items(session: Session, campaign_id: int) -> list[CampaignItem]:
    return list(
        session.exec(select(CampaignItem).where(CampaignItem.campaign_id == campaign_id).order_by(col(CampaignItem.id)))
    )


def get_item(session: Session, item_id: int) -> CampaignItem:
    item = session.get(CampaignItem, item_id)
    if item is None:
        raise NotFoundError(f"No campaign item with id {item_id}.")
    return item


def item_for_round(session: Session, round_id: int) -> CampaignItem | None:
    """The campaign item whose shared round this is, if any."""
    return session.exec(select(CampaignItem).where(CampaignItem.round_id == round_id)).first()


def ready_rounds(campaign_id: int, *columns: Any, gold: bool | None = False) -> Select:  # noqa: ANN401
    """A select of `columns` (the round id by default) over a campaign's items with proposals (gold
    ones, other ones, or all): a subquery for the decision log's round filter."""
    query = select(*(columns or (col(CampaignItem.round_id),))).where(
        CampaignItem.campaign_id == campaign_id, CampaignItem.status == ItemStatus.READY
    )
    return query if gold is None else query.where(CampaignItem.is_gold == gold)


def ready_round_ids(session: Session, campaign_id: int, *, gold: bool | None = False) -> dict[int, int]:
    """round id -> item id of a campaign's items with proposals (gold ones, other ones, or all)."""
    query = ready_rounds(campaign_id, col(CampaignItem.round_id), col(CampaignItem.id), gold=gold)
    return {r: i for r, i in session.connection().execute(query) if r is not None and i is not None}


# --- annotators --------------------------------------------------------------------------------------


def add_members(session: Session, campaign_id: int, user_ids: Iterable[int]) -> int:
    """Add annotators (ones already in are kept as they are); how many were new."""
    have = set(session.exec(select(CampaignMember.user_id).where(CampaignMember.campaign_id == campaign_id)))
    new = 0
    for user_id in dict.fromkeys(user_ids):
        if session.get(User, user_id) is None:
            raise InputError(f"No user with id {user_id}.")
        if user_id in have:
            continue
        try:
            with session.begin_nested():  # another researcher may add them at the same moment
                session.add(CampaignMember(campaign_id=campaign_id, user_id=user_id))
                session.flush()
            new += 1
        except IntegrityError:
            pass
    return new


def members(session: Session, campaign_id: int) -> list[tuple[CampaignMember, User]]:
    query = (
        select(CampaignMember, User)
        .join(User, col(User.id) == col(CampaignMember.user_id))
        .where(CampaignMember.campaign_id == campaign_id)
        .order_by(col(User.name))
    )
    return [(m, u) for m, u in session.exec(query)]


def membership(session: Session, campaign_id: int, user_id: int) -> CampaignMember | None:
    query = select(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.user_id == user_id)
    return session.exec(query).first()


def set_paused(session: Session, campaign_id: int, user_id: int, paused: bool, reason: str | None = None) -> None:
    member = membership(session, campaign_id, user_id)
    if member is None:
        raise NotFoundError(f"User {user_id} is not an annotator of this campaign.")
    member.paused = paused
    member.paused_reason = reason if paused else None
    session.add(member)
    session.flush()


def annotator_choices(session: Session) -> list[User]:
    """People who can be invited: annotators first, then everyone else."""
    users = list(session.exec(select(User).where(col(User.simulated).is_(False)).order_by(col(User.name))))
    return sorted(users, key=lambda u: u.role != Role.ANNOTATOR)


# --- gold ---------------------------------------------------------------------------------------------


def set_gold_answers(session: Session, item_id: int, answers: Mapping[int, str]) -> CampaignItem:
    """Known answers for a gold item's edits (edit id -> accept | reject | modify)."""
    item = get_item(session, item_id)
    if not item.is_gold:
        raise InputError("Only gold items have known answers; mark the document as gold when creating the campaign.")
    if item.round_id is None:
        raise ConflictError("This item's proposals are not made yet.")
    in_round = set(session.exec(select(Edit.id).where(Edit.round_id == item.round_id)))
    clean: dict[str, str] = {}
    for edit_id, label in answers.items():
        if edit_id not in in_round:
            raise InputError(f"Edit {edit_id} is not in this gold item.")
        if label not in GOLD_LABELS:
            raise InputError(f"A known answer is one of {', '.join(GOLD_LABELS)}, not {label!r}.")
        clean[str(edit_id)] = label
    item.gold_answers = {**item.gold_answers, **clean}
    session.add(item)
    session.flush()
    return item


def close(session: Session, campaign_id: int) -> Campaign:
    """Stop taking decisions: the shared rounds are finished (decisions kept)."""
    from core.campaigns.proposing import close_rounds  # the rounds' owner

    campaign = get_campaign(session, campaign_id)
    campaign.status = CampaignStatus.CLOSED
    session.add(campaign)
    close_rounds(session, campaign_id)
    session.flush()
    return campaign
