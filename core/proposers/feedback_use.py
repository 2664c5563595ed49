"""What of a writer's feedback each proposer kind uses, said on the Revise page before a round runs.

Kept apart from the kinds' modules so a page can say it without importing torch; each proposer class
answers the same through its `describe_feedback_use()`.
"""

from __future__ import annotations

from core.proposers.base import SpecData

FEEDBACK_USE: dict[str, str] = {
    "builtin": (
        "The built-in rules do not read free-text feedback. They never change your protected terms, "
        "skip rules you switch off or mute, and do not repeat changes you rejected."
    ),
    "hf-seq2seq": (
        "This model gets one instruction per intent, not your free-text feedback or examples. "
        "Its edits that would change a protected term are hidden, and changes you rejected are not shown again."
    ),
    "hf-chat": (
        "This model gets your feedback, your protected terms, edits you accepted (as examples) and changes "
        "you rejected in its prompt. Its edits that would still change a protected term are hidden."
    ),
    "openai": (
        "This server's model gets your feedback, your protected terms, edits you accepted (as examples) and "
        "changes you rejected in its prompt. Its edits that would still change a protected term are hidden."
    ),
}


def describe_feedback_use(spec: SpecData) -> str:
    """One or two sentences saying what the proposer of `spec` does with feedback and protected terms."""
    return FEEDBACK_USE.get(spec.kind, "This proposer's edits that would change a protected term are hidden.")
