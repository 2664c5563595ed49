"""Simulated users: revision runs without people, stored exactly like a person's.

A reference user decides from a reference revision of each document: it accepts an edit when
applying it alone moves the text closer to the reference (the token edit distance falls) and
rejects it otherwise, with optional noise (each decision flipped with probability `noise`). A
biased user additionally rejects the edits of chosen rules or intents, whatever they do.

A run creates a simulated user (and by default its own project), imports each document, and goes
through the ordinary round engine (`core.revision.rounds`): threads, rounds, edits and decisions are the
same rows a person's work makes, with `simulated=True`, so analytics and exports work on them.
The references are kept in the project's settings under "simulation" for distance-by-round.

Corpora: CoNLL-2014 (M2: learner sentences with gold corrections; the reference applies one
annotator's corrections; consecutive sentences are grouped into documents), IteraTeR
(documents with human revisions), or a JSON Lines file of {"source": ..., "target": ...} pairs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import documents, projects
from core.config import ROOT
from core.db import session_scope
from core.decisions import Action
from core.errors import InputError
from core.learning import preference
from core.models import Edit as EditRow
from core.models import Project, Role, Round, RoundStatus, User, VersionOrigin, id_of, utcnow
from core.proposers.base import Proposer
from core.revision import review, rounds, threads
from core.text.distance import token_distance, words
from core.text.edits import Edit, apply_edits

SHARED_DATA = ROOT.parent / "shared" / "data"
CONLL14_M2 = SHARED_DATA / "conll14" / "official-2014.combined.m2"
ITERATER_DOC = SHARED_DATA / "iterater" / "human_doc_level"
DEFAULT_SENTENCES_PER_DOCUMENT = 10
USER_KINDS = ("reference", "biased")


@dataclass(frozen=True)
class Pair:
    """A document and the revision a simulated user steers towards."""

    title: str
    source: str
    reference: str


# --- corpora -------------------------------------------------------------------------------------

_NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}
_NO_SPACE_AFTER = {"(", "[", "{", "$"}


def detokenize(tokens: Sequence[str]) -> str:
    """Join Penn-style tokens as a writer would type them ("disease ." -> "disease.")."""
    out: list[str] = []
    quote_open = squote_open = False
    glue_next = False
    for tok in tokens:
        if not tok:
            continue
        glue = glue_next or not out
        glue_next = False
        if tok in _NO_SPACE_BEFORE or tok.lower() in _NO_SPACE_BEFORE:
            glue = True
        elif tok == '"' or (tok == "'" and not squote_open and out and out[-1].endswith("s")):
            if tok == "'":  # a possessive: "families ' lives" -> "families' lives"
                glue = True
            elif quote_open:
                glue = True
            else:
                glue_next = True
            quote_open = quote_open if tok == "'" else not quote_open
        elif tok in ("'", "`", "``", "''"):
            if squote_open:
                glue = True
            else:
                glue_next = True
            squote_open = not squote_open
        if tok in _NO_SPACE_AFTER:
            glue_next = True
        out.append(tok if glue else " " + tok)
    return "".join(out)


def read_m2(path: Path, annotator: int = 0) -> list[tuple[list[str], list[str]]]:
    """(source tokens, tokens with the annotator's corrections applied) for each M2 sentence."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read the M2 file {path}: {exc.strerror}.") from exc
    out: list[tuple[list[str], list[str]]] = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines or not lines[0].startswith("S "):
            continue
        source = lines[0][2:].split()
        edits: list[tuple[int, int, list[str]]] = []
        for line in lines[1:]:
            if not line.startswith("A "):
                continue
            fields = line[2:].split("|||")
            start, end = (int(x) for x in fields[0].split())
            if start < 0 or fields[1] == "noop" or int(fields[-1]) != annotator:
                continue
            correction = fields[2]
            edits.append((start, end, [] if correction in ("", "-NONE-") else correction.split()))
        target = list(source)
        # right to left, so earlier token indices stay valid
        for start, end, tokens in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            target[start:end] = tokens
        out.append((source, target))
    return out


def conll14_documents(
    path: Path | None = None,
    *,
    sentences_per_document: int = DEFAULT_SENTENCES_PER_DOCUMENT,
    annotator: int = 0,
    tokenized: bool = False,
) -> list[Pair]:
    """CoNLL-2014 test sentences grouped into documents of consecutive sentences.

    Sentences are detokenised (as a writer types them) unless `tokenized`; source and reference go
    through the same detokeniser, so the only differences are the annotator's corrections.
    """
    path = path or CONLL14_M2
    if not path.exists():
        raise InputError(f"CoNLL-2014 M2 file not found at {path} (it lives in ../shared/data/conll14).")
    sentences = read_m2(path, annotator)
    join = " ".join if tokenized else detokenize
    pairs: list[Pair] = []
    for i in range(0, len(sentences), sentences_per_document):
        group = sentences[i : i + sentences_per_document]
        source = " ".join(join(s) for s, _ in group)
        reference = " ".join(join(t) for _, t in group if t)
        n = i // sentences_per_document + 1
        pairs.append(
            Pair(title=f"CoNLL-2014 #{n} (sentences {i + 1}-{i + len(group)})", source=source, reference=reference)
        )
    return pairs


def iterater_documents(path: Path | None = None, split: str = "test") -> list[Pair]:
    """IteraTeR human-annotated document revisions (before_revision -> after_revision)."""
    folder = path or ITERATER_DOC
    file = folder / f"{split}.json" if folder.is_dir() else folder
    if not file.exists():
        raise InputError(f"IteraTeR file not found at {file} (it lives in ../shared/data/iterater).")
    pairs: list[Pair] = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        title = f"IteraTeR {row.get('doc_id', len(pairs) + 1)} depth {row.get('revision_depth', '?')}"
        pairs.append(Pair(title=title, source=row["before_revision"], reference=row["after_revision"]))
    return pairs


def pairs_file(path: Path) -> list[Pair]:
    """A JSON Lines file of {"source": ..., "target": ..., "title"?: ...} objects."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read the pairs file {path}: {exc.strerror}.") from exc
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(
                Pair(
                    title=str(row.get("title") or f"{path.stem} #{number}"),
                    source=row["source"],
                    reference=row["target"],
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f'{path}, line {number}: each line must be a JSON object with "source" and "target" strings ({exc}).'
            ) from exc
    return pairs


def load_corpus(
    name: str,
    *,
    documents: int | None = None,
    skip: int = 0,
    sentences_per_document: int = DEFAULT_SENTENCES_PER_DOCUMENT,
) -> list[Pair]:
    """'conll14' (`sentences_per_document` to a document), 'iterater' (or 'iterater:train'), or a path
    to a JSON Lines file of pairs."""
    if name == "conll14":
        pairs = conll14_documents(sentences_per_document=sentences_per_document)
    elif name.startswith("iterater"):
        split = name.split(":", 1)[1] if ":" in name else "test"
        pairs = iterater_documents(split=split)
    else:
        path = Path(name)
        if not path.exists():
            raise InputError(f"Unknown corpus {name!r}: use conll14, iterater[:train|dev|test] or a JSONL file path.")
        pairs = pairs_file(path)
    pairs = [p for p in pairs if p.source.strip()]
    return pairs[skip : skip + documents if documents is not None else None]


# --- deciding ------------------------------------------------------------------------------------


@dataclass
class SimulatedUser:
    """Accepts an edit when it alone brings the text closer to the reference; rejects the rest.

    `reject_rules` (a source such as "lingotweaker:RULE", a bare rule id, or an engine name) and
    `reject_intents` are always rejected: a biased user's taste. `noise` flips each decision."""

    kind: str = "reference"
    reject_rules: frozenset[str] = frozenset()
    reject_intents: frozenset[str] = frozenset()
    noise: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in USER_KINDS:
            raise InputError(f"Unknown simulated user {self.kind!r}; use one of {', '.join(USER_KINDS)}.")
        if not 0.0 <= self.noise <= 1.0:
            raise InputError(f"noise must be a probability between 0 and 1, not {self.noise}.")
        if self.kind == "reference" and (self.reject_rules or self.reject_intents):
            raise InputError("Only a biased user rejects chosen rules or intents (use --user biased).")
        self.reject_rules = frozenset(r.casefold() for r in self.reject_rules)
        self.reject_intents = frozenset(i.casefold() for i in self.reject_intents)
        self._rng = random.Random(self.seed)

    def dislikes(self, source: str | None, intent: str | None) -> bool:
        src = (source or "").casefold()
        names = {src, src.split(":", 1)[-1], src.split(":", 1)[0]} - {""}
        return bool(names & self.reject_rules) or (intent or "").casefold() in self.reject_intents

    def helps(self, base_words: list[str], base_text: str, edit: Edit, reference_words: list[str]) -> bool:
        new_text = apply_edits(base_text, [edit])
        return token_distance(words(new_text), reference_words) < token_distance(base_words, reference_words)

    def decide(self, base_text: str, edits: Sequence[Edit], reference: str) -> list[Action]:
        """ "accept" or "reject" for each edit made on base_text."""
        ref_words = words(reference)
        base_words = words(base_text)
        actions = []
        for e in edits:
            ok = not self.dislikes(e.source, e.intent) and self.helps(base_words, base_text, e, ref_words)
            if self.noise and self._rng.random() < self.noise:
                ok = not ok
            actions.append(Action.ACCEPT if ok else Action.REJECT)
        return actions


# --- runs ----------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    project_id: int
    user_id: int
    learning: bool
    documents: int = 0
    rounds: int = 0
    proposed: int = 0
    shown: int = 0
    hidden: int = 0
    accepted: int = 0
    rejected: int = 0
    distance_before: int = 0  # token distance to the references, summed over documents
    distance_after: int = 0
    document_ids: list[int] = field(default_factory=list)

    @property
    def acceptance_shown(self) -> float:
        return self.accepted / self.shown if self.shown else 0.0

    def as_dict(self) -> dict[str, object]:
        out = {k: v for k, v in self.__dict__.items() if k != "document_ids"}
        out["acceptance_shown"] = round(self.acceptance_shown, 4)
        return out


def create_run(
    session: Session,
    user: SimulatedUser,
    *,
    learning: bool,
    project_name: str | None = None,
    corpus: str = "",
    threshold: float | None = None,
    auto_mute_after: int | None = None,
) -> tuple[int, int]:
    """A simulated user (and a project for the run unless `project_name` names one). Returns their ids."""
    stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
    sim_user = User(name=f"sim-{user.kind}-{stamp}", role=Role.ANNOTATOR, simulated=True)
    session.add(sim_user)
    name = (
        project_name or f"Simulation {corpus or 'run'} {user.kind} {'learning' if learning else 'no-learning'} {stamp}"
    )
    project = session.exec(select(Project).where(Project.name == name)).first()
    if project is None:
        project = Project(name=name, settings={})
        session.add(project)
    session.flush()
    settings = dict(project.settings or {})
    settings["simulation"] = {
        **settings.get("simulation", {}),
        "corpus": corpus,
        "references": dict(settings.get("simulation", {}).get("references", {})),
    }
    project.settings = settings
    session.add(project)
    project_id, user_id = id_of(project), id_of(sim_user)
    # settings left None keep the profile's defaults
    preference.update_profile(
        session, project_id, user_id, learning=learning, threshold=threshold, auto_mute_after=auto_mute_after
    )
    session.flush()
    return project_id, user_id


def revise_document(
    engine: Engine,
    project_id: int,
    user_id: int,
    pair: Pair,
    user: SimulatedUser,
    settings: rounds.RoundSettings,
    *,
    proposer: Proposer | None = None,
    summary: RunSummary | None = None,
) -> int:
    """Import one document and revise it with the simulated user until the loop stops. Returns its id."""
    with session_scope(engine) as s:
        doc = documents.create_document(
            s, pair.title, pair.source, project_id=project_id, user_id=user_id, origin=VersionOrigin.IMPORT
        )
        document_id = id_of(doc)
        source = documents.head_version(s, document_id).text
        project = projects.get_project(s, project_id)
        sim = dict(project.settings.get("simulation", {}))
        sim["references"] = {**sim.get("references", {}), str(document_id): pair.reference}
        project.settings = {**project.settings, "simulation": sim}
        s.add(project)
        thread_id = id_of(threads.active_thread(s, document_id, user_id, simulated=True))
    rnd: Round | None = rounds.propose_round(engine, thread_id, settings, proposer=proposer)
    final = source
    while rnd is not None and rnd.status == RoundStatus.REVIEWING:
        with session_scope(engine) as s:
            view = review.round_view(s, id_of(rnd), user_id)
            pending = [st for st in view.edits if st.status == review.PENDING]
            edits = [_as_edit(st.row) for st in pending]
            actions = user.decide(view.base_text, edits, pair.reference)
            for st, action in zip(pending, actions, strict=True):
                review.decide(s, id_of(st.row), user_id, action, simulated=True)
            if summary is not None:
                summary.rounds += 1
                summary.proposed += len(view.edits) + len(view.hidden)
                summary.shown += len(view.edits)
                summary.hidden += len(view.hidden)
                summary.accepted += actions.count(Action.ACCEPT)
                summary.rejected += actions.count(Action.REJECT)
        result = rounds.apply_and_continue(engine, id_of(rnd), user_id, settings, proposer=proposer)
        final = result.version.text
        rnd = result.next_round
    if summary is not None:
        summary.documents += 1
        summary.document_ids.append(document_id)
        summary.distance_before += token_distance(source, pair.reference)
        summary.distance_after += token_distance(final, pair.reference)
    return document_id


def _as_edit(row: EditRow) -> Edit:
    return Edit(
        start=row.start,
        end=row.end,
        before=row.before,
        after=row.after,
        intent=row.intent,
        source=row.source or "",
    )


def run_simulation(
    engine: Engine,
    pairs: Iterable[Pair],
    user: SimulatedUser,
    *,
    learning: bool = True,
    settings: rounds.RoundSettings | None = None,
    proposer: Proposer | None = None,
    project_name: str | None = None,
    corpus: str = "",
    threshold: float | None = None,
    auto_mute_after: int | None = None,
    progress: Callable[[int, RunSummary], None] | None = None,
) -> RunSummary:
    """Revise each document in turn as one simulated person; learning carries across documents."""
    settings = settings or rounds.RoundSettings()
    with session_scope(engine) as s:
        project_id, user_id = create_run(
            s,
            user,
            learning=learning,
            project_name=project_name,
            corpus=corpus,
            threshold=threshold,
            auto_mute_after=auto_mute_after,
        )
    summary = RunSummary(project_id=project_id, user_id=user_id, learning=learning)
    for i, pair in enumerate(pairs):
        revise_document(engine, project_id, user_id, pair, user, settings, proposer=proposer, summary=summary)
        if progress is not None:
            progress(i + 1, summary)
    return summary
