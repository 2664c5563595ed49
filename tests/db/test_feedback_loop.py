"""Feedback that drives the next round, through the real round engine and database: suppression of
rejected edits, feedback and examples in requests, automatic and project-wide muting with unmute,
the preference model's predictions and threshold, and learning switched off."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlmodel import select

from core import documents
from core.db import session_scope
from core.errors import InputError
from core.learning import hidden, muting, preference
from core.models import LearningProfile, Mute, User
from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion
from core.revision import feedback, review, rounds, threads


class RuleProposer:
    """Whole-word find-and-replace rules, each with its own intent; source is "test:PATTERN"."""

    def __init__(self, rules: dict[str, tuple[str, str]]) -> None:
        self.rules = rules
        self.spec = SpecData(kind="builtin", params={"test_rules": sorted(rules)})
        self.calls: list[ProposalRequest] = []

    def propose(self, request: ProposalRequest) -> ProposalResult:
        self.calls.append(request)
        out = []
        for pattern, (replacement, intent) in self.rules.items():
            for m in re.finditer(rf"\b{re.escape(pattern)}\b", request.text):
                out.append(Suggestion(m.start(), m.end(), replacement, intent=intent, source=f"test:{pattern}"))
        return ProposalResult(suggestions=sorted(out, key=lambda s: s.start))


def new_thread(engine, text: str, user_id: int | None = None, title: str = "doc") -> tuple[int, int, int]:
    with session_scope(engine) as s:
        doc = documents.create_document(s, title, text)
        uid = user_id or documents.default_user(s).id
        return doc.id, uid, threads.active_thread(s, doc.id, uid).id


def add_user(engine, name: str, role: str = "writer") -> int:
    with session_scope(engine) as s:
        u = User(name=name, role=role)
        s.add(u)
        s.flush()
        return u.id


Decider = Callable[[review.EditState], str | None]


def decide_round(engine, round_id: int, user_id: int, decide: Decider) -> review.RoundView:
    """Decide the shown pending edits of a round with `decide` (None leaves one pending)."""
    with session_scope(engine) as s:
        view = review.round_view(s, round_id, user_id)
        for st in view.edits:
            action = decide(st)
            if action:
                review.decide(s, st.row.id, user_id, action)
        return view


def view_of(engine, round_id: int, user_id: int) -> review.RoundView:
    with session_scope(engine) as s:
        return review.round_view(s, round_id, user_id)


def changes(states: list[review.EditState]) -> list[tuple[str, str]]:
    return [(st.row.before, st.row.after) for st in states]


RULES = {
    "alot": ("a lot", "fluency"),
    "teh": ("the", "fluency"),
    "Teh": ("The", "fluency"),
    "irregardless": ("regardless", "clarity"),
}


def test_rejected_edit_never_comes_back_in_the_thread_even_when_offsets_and_neighbours_change(engine) -> None:
    text = "We did alot of work teh irregardless way. Then teh end came. Teh last."
    _, user_id, thread_id = new_thread(engine, text)
    proposer = RuleProposer(RULES)
    settings = rounds.RoundSettings(max_depth=3)
    r1 = rounds.propose_round(engine, thread_id, settings, proposer=proposer)

    def round1(st: review.EditState) -> str | None:
        if st.row.before in ("alot", "irregardless"):
            return "accept"  # the words on both sides of the first "teh" change, and offsets shift
        if st.row.before == "teh" and st.row.start == text.index("teh"):
            return "reject"
        return None  # the second "teh" and "Teh" stay pending

    decide_round(engine, r1.id, user_id, round1)
    r2 = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer).next_round
    new_text = proposer.calls[-1].text
    assert new_text == "We did a lot of work teh regardless way. Then teh end came. Teh last."
    # the proposer did find the first "teh" again (at a shifted offset); it was not stored
    assert [m.start() for m in re.finditer(r"\bteh\b", new_text)] == [21, 46]
    v2 = view_of(engine, r2.id, user_id)
    assert [(st.row.start, st.row.before) for st in v2.edits] == [(46, "teh"), (60, "Teh")]
    # the rejected change travels to prompted models as something to avoid
    assert [(a.before, a.after) for a in proposer.calls[-1].avoid] == [("teh", "the")]
    # a third round: still suppressed (carried through two versions)
    decide_round(engine, r2.id, user_id, lambda st: "accept" if st.row.before == "Teh" else None)
    r3 = rounds.apply_and_continue(engine, r2.id, user_id, settings, proposer=proposer).next_round
    assert changes(view_of(engine, r3.id, user_id).edits) == [("teh", "the")]
    assert view_of(engine, r3.id, user_id).edits[0].row.start == 46


def test_suppression_is_per_thread(engine) -> None:
    text = "It is teh best."
    _, user_id, t1 = new_thread(engine, text, title="one")
    proposer = RuleProposer(RULES)
    settings = rounds.RoundSettings(max_depth=2)
    r1 = rounds.propose_round(engine, t1, settings, proposer=proposer)
    decide_round(engine, r1.id, user_id, lambda st: "reject")
    assert (
        rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer).next_round.status == "finished"
    )
    # the same change in another document is proposed again (one rejection is not a pattern)
    _, _, t2 = new_thread(engine, text, title="two")
    r = rounds.propose_round(engine, t2, settings, proposer=proposer)
    assert changes(view_of(engine, r.id, user_id).edits) == [("teh", "the")]


def test_feedback_and_examples_reach_every_later_request(engine) -> None:
    _, user_id, thread_id = new_thread(engine, "We did alot. Teh cat. Irregardless of teh rain.")
    proposer = RuleProposer(RULES)
    r1 = rounds.propose_round(engine, thread_id, rounds.RoundSettings(feedback="keep it formal"), proposer=proposer)
    assert proposer.calls[-1].feedback == ("keep it formal",)
    with session_scope(engine) as s:
        for st in review.round_view(s, r1.id, user_id).edits:
            if st.row.before == "alot":
                review.decide(s, st.row.id, user_id, "modify", modified_text="plenty")
            elif st.row.before == "Teh":
                review.decide(s, st.row.id, user_id, "accept")
    r2 = rounds.apply_and_continue(engine, r1.id, user_id, rounds.RoundSettings(), proposer=proposer).next_round
    request = proposer.calls[-1]
    assert request.feedback == ("keep it formal",)  # carried into a round that gave none
    assert [(e.before, e.after) for e in request.examples] == [
        ("Teh", "The"),
        ("alot", "plenty"),
    ]  # rewrites last: nearest the ask
    # a prompted model (hf-chat, openai) puts both into its prompt for each sentence
    from core.proposers.prompts import build_messages

    prompt = build_messages(request.sentences[-1], request)[-1]["content"]
    assert "- keep it formal" in prompt and '"alot" -> "plenty"' in prompt
    decide_round(engine, r2.id, user_id, lambda st: None)
    rounds.apply_and_continue(
        engine, r2.id, user_id, rounds.RoundSettings(feedback="no contractions"), proposer=proposer
    )
    assert proposer.calls[-1].feedback == ("keep it formal", "no contractions")
    # another document of the same person: no feedback (it belongs to its thread), but the examples help
    _, _, other = new_thread(engine, "Another text with alot.")
    rounds.propose_round(engine, other, rounds.RoundSettings(), proposer=proposer)
    assert proposer.calls[-1].feedback == ()
    assert {(e.before, e.after) for e in proposer.calls[-1].examples} == {("Teh", "The"), ("alot", "plenty")}


def run_doc(engine, text: str, user_id: int, proposer, decide: Decider, title: str = "doc") -> review.RoundView:
    """One round on a new document: decide, apply. Returns the round's view as the person saw it."""
    _, _, thread_id = new_thread(engine, text, user_id, title)
    settings = rounds.RoundSettings(max_depth=1)
    rnd = rounds.propose_round(engine, thread_id, settings, proposer=proposer)
    view = decide_round(engine, rnd.id, user_id, decide)
    rounds.apply_and_continue(engine, rnd.id, user_id, settings, proposer=proposer)
    return view


MUTE_RULES = {"foo": ("bar", "style"), "good": ("great", "fluency"), "meh": ("fine", "fluency")}


def test_a_rule_rejected_three_times_is_muted_counted_and_can_be_unmuted(engine) -> None:
    proposer = RuleProposer(MUTE_RULES)
    with session_scope(engine) as s:
        user_id = documents.default_user(s).id
        project_id = documents.default_project(s).id
        preference.update_profile(s, project_id, user_id, threshold=0.0)  # muting alone, no prediction hiding

    def reject_foo(st: review.EditState) -> str:
        return "reject" if st.row.source == "test:foo" else "accept"

    run_doc(engine, "foo and foo.", user_id, proposer, reject_foo, "a")
    # "meh" is accepted once, then rejected many times: never muted (it was accepted)
    run_doc(engine, "foo good meh.", user_id, proposer, lambda st: "accept", "b")
    for i in range(4):
        run_doc(engine, "meh meh.", user_id, proposer, lambda st: "reject", f"meh{i}")
    view = run_doc(engine, "foo, good and foo.", user_id, proposer, reject_foo, "c")
    # two rejections of foo so far (the accept in "b" counts as accepted!): not muted
    assert changes(view.edits) == [("foo", "bar"), ("good", "great"), ("foo", "bar")] and not view.hidden

    # a fresh rule the person rejects three times and never accepts
    proposer = RuleProposer({**MUTE_RULES, "utilize": ("use", "clarity")})
    run_doc(engine, "utilize it, utilize them.", user_id, proposer, lambda st: "reject", "d")
    view = run_doc(engine, "We utilize tools. utilize more. good.", user_id, proposer, lambda st: "reject", "e")
    assert len(view.edits) == 3  # the third rejection happens in this round
    view = run_doc(engine, "We utilize tools and good ones.", user_id, proposer, lambda st: None, "f")
    assert changes(view.edits) == [("good", "great")]
    assert [(h.row.before, h.row.hidden_reason) for h in view.hidden] == [("utilize", "muted rule: test:utilize")]
    assert hidden.counts(h.row.hidden_kind for h in view.hidden) == [("muted rules", 1)]
    with session_scope(engine) as s:
        (mute,) = [m for m in muting.list_mutes(s, project_id, user_id) if m.value == "test:utilize"]
        assert mute.automatic and mute.kind == "rule" and mute.user_id == user_id
        assert {m.value for m in muting.list_mutes(s, project_id, user_id)} == {"test:utilize"}
        muting.unmute(s, mute.id, by_user_id=user_id)
    view = run_doc(engine, "Now utilize it.", user_id, proposer, lambda st: "reject", "g")
    assert changes(view.edits) == [("utilize", "use")]  # unmuted: shown again (and rejected: 1 since unmute)
    run_doc(engine, "utilize it.", user_id, proposer, lambda st: "reject", "h")  # 2 since unmute
    view = run_doc(engine, "utilize it.", user_id, proposer, lambda st: "reject", "i")
    assert changes(view.edits) == [("utilize", "use")]  # still shown: the count restarted at the unmute
    view = run_doc(engine, "utilize it.", user_id, proposer, lambda st: None, "j")
    assert not view.edits and [h.row.hidden_reason for h in view.hidden] == ["muted rule: test:utilize"]
    with session_scope(engine) as s:
        rows = s.exec(select(Mute).where(Mute.value == "test:utilize")).all()
        assert len(rows) == 1 and rows[0].active  # the same row, muted again


def test_an_intent_is_muted_after_three_times_as_many_rejections(engine) -> None:
    # nine different style rules rejected once each: no rule reaches 3, the intent reaches 9
    style = {f"w{i}": (f"W{i}", "style") for i in range(10)}
    proposer = RuleProposer({**style, "good": ("great", "fluency")})
    with session_scope(engine) as s:
        user_id = documents.default_user(s).id
        preference.update_profile(s, documents.default_project(s).id, user_id, threshold=0.0)
    run_doc(
        engine,
        " ".join(f"w{i}" for i in range(5)) + " good.",
        user_id,
        proposer,
        lambda st: "reject" if st.row.intent == "style" else "accept",
        "a",
    )
    view = run_doc(engine, " ".join(f"w{i}" for i in range(5, 9)) + ".", user_id, proposer, lambda st: "reject", "b")
    assert len(view.edits) == 4 and not view.hidden  # 5 + 4 = 9 rejections after this round
    view = run_doc(engine, "w9 and good.", user_id, proposer, lambda st: None, "c")
    assert changes(view.edits) == [("good", "great")]
    assert [h.row.hidden_reason for h in view.hidden] == ["muted intent: style"]


def test_project_wide_mutes_are_for_admins(engine) -> None:
    proposer = RuleProposer(MUTE_RULES)
    writer = add_user(engine, "wendy")
    with session_scope(engine) as s:
        admin = documents.default_user(s).id  # the default local user is an admin
        project_id = documents.default_project(s).id
        with pytest.raises(InputError, match="Only an admin"):
            muting.mute(s, project_id, "rule", "test:foo", user_id=None, by_user_id=writer)
        with pytest.raises(InputError, match="your own"):
            muting.mute(s, project_id, "rule", "test:foo", user_id=admin, by_user_id=writer)
    with session_scope(engine) as s:
        project_mute = muting.mute(s, project_id, "rule", "test:foo", user_id=None, by_user_id=admin)
        mine = muting.mute(s, project_id, "intent", "fluency", user_id=writer, by_user_id=writer)
        assert not project_mute.automatic and project_mute.user_id is None
    view = run_doc(engine, "foo is good.", writer, proposer, lambda st: None)
    assert not view.edits
    assert sorted(h.row.hidden_reason for h in view.hidden) == [
        "muted intent: fluency",
        "rule muted for the project: test:foo",
    ]
    assert hidden.counts(h.row.hidden_kind for h in view.hidden) == [
        ("rules muted for the project", 1),
        ("muted intents", 1),
    ]
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="Only an admin"):
            muting.unmute(s, project_mute.id, by_user_id=writer)
        muting.unmute(s, mine.id, by_user_id=writer)
        muting.unmute(s, project_mute.id, by_user_id=admin)
        assert muting.list_mutes(s, project_id, writer) == []
        assert len(muting.list_mutes(s, project_id, writer, include_inactive=True)) == 2
    view = run_doc(engine, "foo is good.", writer, proposer, lambda st: None, "again")
    assert changes(view.edits) == [("foo", "bar"), ("good", "great")] and not view.hidden


def test_learning_off_repeats_rejections_and_mutes_nothing_automatically(engine) -> None:
    proposer = RuleProposer(RULES)
    with session_scope(engine) as s:
        user_id = documents.default_user(s).id
        project_id = documents.default_project(s).id
        preference.update_profile(s, project_id, user_id, learning=False)
    _, _, thread_id = new_thread(engine, "teh cat, teh dog and teh bird.")
    settings = rounds.RoundSettings(max_depth=2)
    r1 = rounds.propose_round(engine, thread_id, settings, proposer=proposer)
    decide_round(engine, r1.id, user_id, lambda st: "reject")
    r2 = rounds.apply_and_continue(engine, r1.id, user_id, settings, proposer=proposer).next_round
    v2 = view_of(engine, r2.id, user_id)
    assert changes(v2.edits) == [("teh", "the")] * 3  # proposed again: nothing learned
    assert all(st.row.predicted_accept is None for st in v2.edits)
    assert proposer.calls[-1].avoid == () and proposer.calls[-1].examples == ()
    with session_scope(engine) as s:
        assert muting.list_mutes(s, project_id, user_id) == []  # three rejections, no automatic mute
        # a mute made by hand still applies
        muting.mute(s, project_id, "rule", "test:alot", user_id=user_id, by_user_id=user_id)
    view = run_doc(engine, "alot of teh.", user_id, proposer, lambda st: None)
    assert changes(view.edits) == [("teh", "the")] and [h.row.hidden_reason for h in view.hidden] == [
        "muted rule: test:alot"
    ]


def test_preference_model_predicts_orders_and_hides_below_threshold(engine) -> None:
    rules = {
        "good": ("great", "fluency"),
        "nice": ("pleasant", "fluency"),
        "bad": ("worse", "fluency"),
        "ugly": ("uglier", "fluency"),
    }
    proposer = RuleProposer(rules)
    with session_scope(engine) as s:
        user_id = documents.default_user(s).id
        project_id = documents.default_project(s).id
        preference.update_profile(s, project_id, user_id, auto_mute_after=0, threshold=0.0)  # test prediction alone

    def taste(st: review.EditState) -> str:
        return "accept" if st.row.before in ("good", "nice") else "reject"

    for i in range(7):  # 28 decisions: half accepted
        view = run_doc(engine, "good bad nice ugly.", user_id, proposer, taste, f"d{i}")
    with session_scope(engine) as s:
        profile = preference.get_profile(s, project_id, user_id)
        assert profile.meta["decisions"] == 24 and profile.model is not None  # fitted before the 7th round
        fitted_before = profile.fitted_at
    p = {st.row.before: st.row.predicted_accept for st in view.edits}
    assert p["good"] > 0.5 > p["bad"] and p["nice"] > 0.5 > p["ugly"]
    assert [
        st.row.before for st in feedback.most_likely_first(view.edits, [st.row.predicted_accept for st in view.edits])
    ][:2] == sorted(["good", "nice"], key=lambda w: -p[w])
    with session_scope(engine) as s:
        preference.update_profile(s, project_id, user_id, threshold=0.4)
    _, _, thread_id = new_thread(engine, "good bad nice ugly.", user_id, "last")
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(max_depth=1), proposer=proposer)
    view = view_of(engine, rnd.id, user_id)
    assert changes(view.edits) == [("good", "great"), ("nice", "pleasant")]
    reasons = [h.row.hidden_reason for h in view.hidden]
    assert len(reasons) == 2 and all(r.startswith(preference.BELOW_THRESHOLD) for r in reasons)
    assert hidden.counts(h.row.hidden_kind for h in view.hidden) == [("edits predicted unlikely to be accepted", 2)]
    with session_scope(engine) as s:
        profile = s.exec(select(LearningProfile).where(LearningProfile.user_id == user_id)).one()
        assert profile.fitted_at > fitted_before  # refit after the 7th round's decisions
        assert profile.meta["decisions"] == 28 and profile.meta["holdout"]["n"] >= 5
        # hidden edits can still be decided (the person chose to show them); then they count as shown
        review.decide(s, view.hidden[0].row.id, user_id, "accept")
        after = review.round_view(s, rnd.id, user_id)
        assert len(after.edits) == 3 and len(after.hidden) == 1
    with pytest.raises(InputError, match="between 0 and 1"):
        with session_scope(engine) as s:
            preference.update_profile(s, project_id, user_id, threshold=1.5)


def test_map_span_through_changes() -> None:
    from core.text.edits import Edit

    changes_ = [Edit(0, 4, "alot", "a lot"), Edit(10, 10, "", "very "), Edit(20, 32, "irregardless", "regardless")]
    assert feedback.map_span(changes_, 6, 9) == (7, 10)  # after one growing change
    assert feedback.map_span(changes_, 10, 14) == (16, 20)  # text inserted right before the span
    assert feedback.map_span(changes_, 14, 20) == (20, 26)  # a change starting right after it
    assert feedback.map_span(changes_, 33, 36) == (37, 40)  # after all three
    assert feedback.map_span(changes_, 2, 6) is None  # overlaps a change
    assert feedback.map_span(changes_, 8, 12) is None  # an insertion inside
