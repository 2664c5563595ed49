"""Revise: propose edits on a document, review them inline, apply, go on to the next round."""

from __future__ import annotations

import streamlit as st

from core import documents
from core.data import downloads
from core.db import session_scope
from core.errors import RedraftError
from core.learning import muting
from core.proposers.base import ALL_INTENTS, DEFAULT_INTENTS, SpecData
from core.proposers.registry import list_specs, spec_fingerprint, spec_from_row
from core.revision import feedback, rounds
from ui import review, round_jobs
from ui.pickers import document_picker
from ui.state import current_project_id, current_user_id, engine, flash, show_flashes
from ui.text import md_escape

DEFAULT_SPEC = SpecData(kind="builtin")
DEFAULT_CHOICE = "builtin"

st.title("Revise")
show_flashes()
eng = engine()
user_id = current_user_id()

doc_id, titles = document_picker(eng, "revise_doc", link_to_documents=True)

with session_scope(eng) as s:
    thread = rounds.latest_thread(s, doc_id, user_id)
    rnd = rounds.current_round(s, thread.id) if thread else None
    history = rounds.thread_rounds(s, thread.id) if thread else []
    head = documents.head_version(s, doc_id)
    specs = [(row.id, spec_from_row(row), row.name or "") for row in list_specs(s)]
thread_id = thread.id if thread else None
job = round_jobs.get_job(eng, thread_id) if thread_id else None

# Decisions the browser queued are stored before anything reads or applies the round.
if rnd is not None and rnd.status == "reviewing":
    review.sync_decisions(eng, rnd.id, user_id)


# --- settings: proposer, intents, depth, feedback ------------------------------------------------

default_fp = spec_fingerprint(DEFAULT_SPEC)
spec_choices: dict[str, tuple[SpecData, str]] = {DEFAULT_CHOICE: (DEFAULT_SPEC, "Built-in rules (offline)")}
for spec_id, spec, name in specs:
    if spec_fingerprint(spec) != default_fp:
        spec_choices[f"spec:{spec_id}"] = (spec, f"{name or spec.kind} (#{spec_id}, {spec.kind})")


def _seed_settings() -> None:
    """Settings start from this thread's latest round, so a reload resumes with the same ones."""
    marker = (doc_id, thread_id)
    if st.session_state.get("_rv_settings_for") == marker:
        return
    st.session_state._rv_settings_for = marker
    last = history[-1] if history else None
    request = (last.request or {}) if last else {}
    intents = [i for i in request.get("intents", DEFAULT_INTENTS) if i in ALL_INTENTS] or list(DEFAULT_INTENTS)
    st.session_state.rv_intents = intents
    st.session_state.rv_depth = int(request.get("max_depth", rounds.DEFAULT_MAX_DEPTH))
    st.session_state.rv_feedback = (last.feedback or "") if last else ""
    choice = f"spec:{last.spec_id}" if last and f"spec:{last.spec_id}" in spec_choices else DEFAULT_CHOICE
    st.session_state.rv_spec = choice


_seed_settings()
if st.session_state.get("rv_spec") not in spec_choices:
    st.session_state.rv_spec = DEFAULT_CHOICE


def settings_form(disabled: bool) -> None:
    st.selectbox(
        "Proposer",
        list(spec_choices),
        format_func=lambda c: spec_choices[c][1],
        key="rv_spec",
        persist_state="session",
        disabled=disabled,
        help="The built-in rules work offline; models and servers added on the Models page follow.",
    )
    st.pills(
        "Intents",
        list(ALL_INTENTS),
        selection_mode="multi",
        key="rv_intents",
        persist_state="session",
        disabled=disabled,
    )
    st.number_input(
        "Maximum depth",
        min_value=1,
        max_value=20,
        step=1,
        key="rv_depth",
        persist_state="session",
        disabled=disabled,
        help="How many rounds at most before the loop stops (3, as in R3).",
    )
    st.text_area(
        "Feedback for the proposer (optional)",
        key="rv_feedback",
        persist_state="session",
        max_chars=2000,
        disabled=disabled,
        placeholder="e.g. keep it formal; don't touch citations",
        help="Stored with the round and carried into every later round.",
    )


def current_settings() -> rounds.RoundSettings:
    spec = spec_choices[st.session_state.rv_spec][0]
    intents = tuple(st.session_state.get("rv_intents") or ())
    return rounds.RoundSettings(
        spec=spec,
        intents=intents,
        feedback=st.session_state.get("rv_feedback") or "",
        max_depth=int(st.session_state.rv_depth),
    )


def start_proposing() -> None:
    settings = current_settings()
    if not settings.intents:
        flash("Choose at least one intent.", "warning")
        return
    with session_scope(eng) as s:
        active = rounds.active_thread(s, doc_id, user_id)
        active_id = active.id
    round_jobs.start_propose(eng, active_id, settings)


# --- a job running: progress, cancel -------------------------------------------------------------


@st.fragment(run_every=0.5)
def job_progress(for_thread: int) -> None:
    running = round_jobs.get_job(eng, for_thread)
    if running is None or running.finished:
        st.rerun()
    what = "Proposing edits" if running.kind == "propose" else "Applied; proposing the next round"
    counted = f"{running.done} / {running.total} sentences" if running.total else "starting…"
    st.progress(running.fraction, text=f"{what}: {counted} ({running.elapsed_s:.0f} s)")
    cancelling = running.cancel.is_set()
    if st.button("Cancelling…" if cancelling else "Cancel", icon=":material/cancel:", disabled=cancelling):
        running.cancel.set()  # the next poll shows "Cancelling…"; the proposer stops at its next check


if job is not None and not job.finished:
    st.caption(f"Version #{head.id} · {len(head.text):,} characters")
    job_progress(thread_id)
    st.stop()

if job is not None and job.finished:
    round_jobs.clear_job(eng, thread_id)
    if job.error:
        st.error(md_escape(job.error), icon=":material/error:")
    elif job.round_status == "cancelled":
        st.warning("Proposing was cancelled; nothing was stored for that round.", icon=":material/cancel:")
    elif job.stop_reason:
        st.success(f"The revision loop stopped: {md_escape(job.stop_reason)}.", icon=":material/flag:")
    elif job.kind == "continue":
        st.success("Applied; the next round is ready for review.", icon=":material/check:")

# --- the round under review -----------------------------------------------------------------------


@st.fragment
def review_panel(round_id: int, likely_first: bool) -> None:
    # Each decision in the browser reruns only this fragment, which stores it and answers.
    review.show_round(eng, round_id, user_id, likely_first=likely_first)


def hidden_panel(round_id: int) -> None:
    """Why edits are hidden ("12 hidden from muted rules"), and unmuting what hides them."""
    project_id = current_project_id()
    with session_scope(eng) as s:
        reasons = [h.row.hidden_reason for h in rounds.round_view(s, round_id, user_id).hidden]
        values = {feedback.hidden_value(r) for r in reasons} - {None}
        mutes = [(m.id, muting.describe(m)) for m in muting.list_mutes(s, project_id, user_id) if m.value in values]
    if not reasons:
        return
    counts = " · ".join(f"{n} hidden from {label}" for label, n in feedback.hidden_counts(reasons))
    st.caption(f"{counts} — tick “Show hidden” above the text to see them.")
    for mute_id, line in mutes:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.text(line)
            if st.button("Unmute", key=f"unmute_{mute_id}", icon=":material/volume_up:"):
                try:
                    with session_scope(eng) as s:
                        muting.unmute(s, mute_id, by_user_id=user_id)
                    flash("Unmuted: its edits show from the next round on.")
                except RedraftError as exc:
                    flash(md_escape(str(exc)), "error")
                st.rerun()


def finish(round_id: int | None, for_thread: int) -> None:
    """End the thread; a round under review with accepted or rewritten edits is applied first."""
    try:
        applied = None
        with session_scope(eng) as s:
            if round_id is not None:
                view = rounds.round_view(s, round_id, user_id)
                if view.round.status == "reviewing" and (view.count("accept") or view.count("modify")):
                    applied = (view.round.depth, rounds.apply_round(s, round_id, user_id).id)
            rounds.finish_thread(s, for_thread)
        if applied:
            flash(f"Round {applied[0]} applied as version #{applied[1]}.")
    except RedraftError as exc:
        flash(md_escape(str(exc)), "error")


def download_menu(label: str) -> None:
    title = titles.get(doc_id, "document")
    with st.popover(label, icon=":material/download:"):
        for fmt, name in (("txt", "Text (.txt)"), ("md", "Markdown (.md)"), ("docx", "Word (.docx)")):

            def make(fmt: str = fmt) -> bytes:
                with session_scope(eng) as s:
                    text = downloads.current_text(s, doc_id, user_id)
                return downloads.text_bytes(text, fmt, title)

            st.download_button(
                name,
                data=make,
                file_name=downloads.safe_filename(title, fmt),
                mime=downloads.TEXT_FORMATS[fmt],
                on_click="ignore",
                key=f"dl_{fmt}",
                width="stretch",
            )
        st.caption("The current text: the latest version with this round's decisions so far.")
        for fmt, name in (("jsonl", "Edit log (.jsonl)"), ("csv", "Edit log (.csv)")):

            def make_log(fmt: str = fmt) -> bytes:
                with session_scope(eng) as s:
                    return downloads.edit_log_bytes(s, doc_id, fmt)

            st.download_button(
                name,
                data=make_log,
                file_name=downloads.safe_filename(title + " edit log", fmt),
                mime=downloads.LOG_FORMATS[fmt],
                on_click="ignore",
                key=f"dl_log_{fmt}",
                width="stretch",
            )


max_depth = int(st.session_state.rv_depth)

if thread is not None and thread.status == "active" and rnd is not None and rnd.status == "reviewing":
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            f"Round {rnd.depth} of at most {max_depth} · on version #{rnd.base_version_id} · "
            "click an edit, or use the keys j / k, a, r, e, u"
        )
        likely_first = st.toggle(
            "Most likely first",
            key="rv_likely_first",
            help="Next / previous visit edits by how likely you are to accept them (learned from your decisions).",
        )
    review_panel(rnd.id, likely_first)
    hidden_panel(rnd.id)
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("Apply and continue", type="primary", icon=":material/fast_forward:", key="apply_continue"):
            round_jobs.start_continue(eng, thread.id, rnd.id, user_id, current_settings())
            st.rerun()
        if st.button("Finish", icon=":material/flag:", key="finish", help="Apply this round's decisions and stop."):
            finish(rnd.id, thread.id)
            st.rerun()
        download_menu("Download")
    with st.expander("Settings for the next round", expanded=False):
        settings_form(disabled=False)
    st.stop()

# --- no round under review: start one ------------------------------------------------------------

if thread is not None and thread.status == "finished":
    done = sum(1 for r in history if r.status == "applied")
    st.success(
        f"This revision is finished ({md_escape(thread.stop_reason or 'finished')}) after {done} applied round(s). "
        f"Version #{head.id} is the current text.",
        icon=":material/task_alt:",
    )
elif rnd is not None and rnd.status == "failed":
    st.error(f"Round {rnd.depth} failed: {md_escape(rnd.error or 'unknown error')}", icon=":material/error:")
elif rnd is not None and rnd.status == "cancelled":
    st.warning(f"Round {rnd.depth} was cancelled.", icon=":material/cancel:")
elif rnd is not None and rnd.status == "proposing":
    st.warning(
        f"Round {rnd.depth} was interrupted while proposing (the app restarted). Propose again to go on.",
        icon=":material/warning:",
    )
elif rnd is not None and rnd.status == "applied":
    st.info(f"Round {rnd.depth} is applied. Propose the next round or finish.", icon=":material/info:")

st.caption(f"Version #{head.id} · {len(head.text):,} characters")
with st.container(border=True):
    settings_form(disabled=False)
    with st.container(horizontal=True, vertical_alignment="center"):
        new_thread = thread is None or thread.status == "finished"
        if st.button(
            "Propose" if not new_thread or thread is None else "Start a new revision",
            type="primary",
            icon=":material/auto_fix_high:",
            key="propose",
        ):
            start_proposing()
            st.rerun()
        if thread is not None and thread.status == "active" and rnd is not None:
            if st.button("Finish", icon=":material/flag:", key="finish_idle"):
                finish(None, thread.id)
                st.rerun()
        download_menu("Download")
