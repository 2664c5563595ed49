"""Small real proposers for tests: deterministic find-and-replace rules implementing the Proposer protocol."""

from __future__ import annotations

import re
import threading

from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion


class ReplaceProposer:
    """Proposes `replacement` for every whole-word occurrence of each `pattern` (like a rule engine)."""

    def __init__(self, rules: dict[str, str], intent: str = "fluency", name: str = "replace") -> None:
        self.rules = rules
        self.intent = intent
        self.spec = SpecData(kind="builtin", model=None, params={"test_rules": rules}, name=name)
        self.calls: list[ProposalRequest] = []

    def propose(self, request: ProposalRequest) -> ProposalResult:
        self.calls.append(request)
        out = []
        for pattern, replacement in self.rules.items():
            for m in re.finditer(rf"\b{re.escape(pattern)}\b", request.text):
                out.append(
                    Suggestion(
                        m.start(),
                        m.end(),
                        replacement,
                        intent=self.intent,
                        explanation=f"{pattern} → {replacement}",
                        source=f"test:{pattern}",
                    )
                )
        request.report(len(request.sentences), len(request.sentences))
        return ProposalResult(suggestions=sorted(out, key=lambda s: s.start))


class FailingProposer:
    spec = SpecData(kind="builtin", params={"test": "failing"})

    def propose(self, request: ProposalRequest) -> ProposalResult:
        raise RuntimeError("model exploded")


class BlockingProposer:
    """Waits until cancelled (or released), to test cancel and in-flight rounds."""

    spec = SpecData(kind="builtin", params={"test": "blocking"})

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def propose(self, request: ProposalRequest) -> ProposalResult:
        self.started.set()
        while not request.cancelled and not self.release.is_set():
            self.release.wait(0.02)
        return ProposalResult(cancelled=request.cancelled)


# --- kinds the registry builds from a stored spec (jobs run them in a worker) ---------------------

BLOCKING_STARTED = threading.Event()
BLOCKING_RELEASE = threading.Event()


class SpecReplaceProposer(ReplaceProposer):
    """ReplaceProposer built from a spec: params {"rules": {...}}; kind "test-replace"."""

    def __init__(self, spec: SpecData) -> None:
        super().__init__(dict(spec.params.get("rules") or {}))
        self.spec = spec


class SpecBlockingProposer:
    """Waits until cancelled or BLOCKING_RELEASE is set; kind "test-blocking"."""

    def __init__(self, spec: SpecData) -> None:
        self.spec = spec

    def propose(self, request: ProposalRequest) -> ProposalResult:
        BLOCKING_STARTED.set()
        while not request.cancelled and not BLOCKING_RELEASE.is_set():
            BLOCKING_RELEASE.wait(0.02)
        return ProposalResult(cancelled=request.cancelled)


TEST_KINDS = {
    "test-replace": "tests.proposers_for_tests:SpecReplaceProposer",
    "test-blocking": "tests.proposers_for_tests:SpecBlockingProposer",
}


def register_test_kinds() -> None:
    """Make the test kinds buildable in this process (a worker subprocess calls this too)."""
    from core.proposers.registry import KINDS

    KINDS.update(TEST_KINDS)
