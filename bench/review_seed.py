"""A database with one document and a round of N pending edits, made with core functions only.

Used by bench/ui_latency.py and the browser tests. The proposer is a tiny deterministic one (each
sentence has one misspelling it fixes), so the edit count is exact and no rule engine runs.

    python -m bench.review_seed sqlite:////tmp/review.db 1000
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from core import documents
from core.db import open_database, session_scope
from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion
from core.revision import review, rounds, threads

WORDS = ("teh", "recieve", "seperate", "definately", "occured", "untill", "wich", "beleive")
FIXES = {
    "teh": "the",
    "recieve": "receive",
    "seperate": "separate",
    "definately": "definitely",
    "occured": "occurred",
    "untill": "until",
    "wich": "which",
    "beleive": "believe",
}
INTENTS = ("fluency", "clarity", "style")


def document_text(sentences: int) -> str:
    """`sentences` sentences in paragraphs of five, each with exactly one known misspelling."""
    lines, para = [], []
    for i in range(sentences):
        word = WORDS[i % len(WORDS)]
        para.append(f"Sentence {i + 1} says that {word} report was read by the committee.")
        if len(para) == 5:
            lines.append(" ".join(para))
            para = []
    if para:
        lines.append(" ".join(para))
    return "\n\n".join(lines)


@dataclass
class ScriptedProposer:
    """Fixes the known misspellings; intents rotate so every colour shows."""

    spec: SpecData = field(default_factory=lambda: SpecData(kind="builtin", params={"scripted": True}, name="scripted"))

    def propose(self, request: ProposalRequest) -> ProposalResult:
        out = []
        total = len(request.sentences)
        for n, sent in enumerate(request.sentences):
            for word, fix in FIXES.items():
                at = sent.text.find(f" {word} ")
                if at >= 0:
                    start = sent.start + at + 1
                    intent = INTENTS[n % len(INTENTS)]
                    out.append(
                        Suggestion(
                            start=start,
                            end=start + len(word),
                            replacement=fix,
                            alternatives=(fix.capitalize(),) if n % 4 == 0 else (),
                            intent=intent,
                            explanation=f"Possible spelling mistake: “{word}” → “{fix}”.",
                            source="SCRIPTED_SPELLING",
                        )
                    )
                    break
            request.report(n + 1, total)
        return ProposalResult(suggestions=out)


def seed(engine: Engine, edits: int, title: str = "Benchmark document") -> tuple[int, int, int]:
    """(document id, round id, user id) of a fresh round with `edits` pending edits."""
    with session_scope(engine) as s:
        doc = documents.create_document(s, title, document_text(edits))
        user_id = documents.default_user(s).id
        thread = threads.active_thread(s, doc.id, user_id)
        doc_id, thread_id = doc.id, thread.id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ScriptedProposer())
    with session_scope(engine) as s:
        view = review.round_view(s, rnd.id, user_id)
        if len(view.edits) != edits:
            raise RuntimeError(f"expected {edits} edits, got {len(view.edits)} (status {rnd.status}: {rnd.error})")
    return doc_id, rnd.id, user_id


if __name__ == "__main__":
    url, n = sys.argv[1], int(sys.argv[2])
    print(seed(open_database(url), n))
