"""Revise: propose edits on a document, review them inline, apply, go on to the next round.

A thin page: it reads widgets, calls core.services, and renders. Proposing and "apply and
continue" are jobs (rows): their progress shows from any tab or process, after a reload too.
Every button names the round it was drawn for, so a stale tab acts on nothing it does not show.
"""

from __future__ import annotations

import streamlit as st

from core.data.downloads import LOG_FORMATS, TEXT_FORMATS, safe_filename
from core.errors import RedraftError
from core.models import JobStatus, RoundStatus, ThreadStatus
from core.proposers.base import ALL_INTENTS, DEFAULT_INTENTS, SpecData
from core.proposers.registry import spec_fingerprint
from core.revision.apply import RoundNotUnderReview
from core.revision.rounds import DEFAULT_MAX_DEPTH, RoundSettings
from core.services import downloads, learning, manual, revision
from core.services import review as review_service
from ui import protected_terms, review_widget
from ui.lazy import when_open
from ui.pickers import DOC_PARAM, ROUND_PARAM, document_picker, linked_round, write_url
from ui.state import actor, current_project_id, engine, flash, show_flashes
from ui.text import md_escape

DEFAULT_SPEC = SpecData(kind="builtin")
DEFAULT_CHOICE = "builtin"
SEEN_JOBS = "_rv_jobs_shown"  # job ids whose outcome this session has shown

st.title("Revise")
show_flashes()
eng = engine()
me = actor()

doc_id, titles = document_picker(eng, "revise_doc", link_to_documents=True)

state = revision.revision_state(eng, me, doc_id)
if state.reviewing and state.round is not None:
    # Decisions the browser queued are stored before anything reads or applies the round.
    review_widget.sync_decisions(eng, me, state.round.id or 0)
    state = revision.revision_state(eng, me, doc_id)
thread, rnd, history, head, job = state.thread, state.round, state.history, state.head, state.job
thread_id = thread.id if thread else None
settled = thread is not None and thread.status == ThreadStatus.FINISHED

# The URL names the round under review (a link to share, a reload that comes back to it). A link to a
# round that is no longer the current one says so, and where that round's changes can be seen.
linked = linked_round()
if linked is not None and (rnd is None or linked != rnd.id or not state.reviewing):
    old = next((r for r in history if r.id == linked), None)
    if old is None:
        st.warning(f"The link names round #{linked}, which is not in your revision of this document.")
    elif old.status != RoundStatus.REVIEWING:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(f"The linked round {old.depth} is {old.status}; this page shows where the revision stands now.")
            st.page_link(
                "app_pages/history.py",
                label=f"See round {old.depth} in History",
                icon=":material/history:",
                query_params={DOC_PARAM: str(doc_id), ROUND_PARAM: str(linked)},
            )
write_url(doc=doc_id, round=rnd.id if state.reviewing and rnd is not None else None)
specs = revision.proposer_choices(eng)


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
    st.session_state.rv_depth = int(request.get("max_depth", DEFAULT_MAX_DEPTH))
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
    protected_terms.feedback_panel(
        eng, me, doc_id, spec_choices[st.session_state.rv_spec][0], st.session_state.get("rv_feedback") or ""
    )


def current_settings() -> RoundSettings:
    spec = spec_choices[st.session_state.rv_spec][0]
    intents = tuple(st.session_state.get("rv_intents") or ())
    return RoundSettings(
        spec=spec,
        intents=intents,
        feedback=st.session_state.get("rv_feedback") or "",
        max_depth=int(st.session_state.rv_depth),
    )


# --- actions (each names the state it was drawn for) ---------------------------------------------


def _refused(exc: RedraftError) -> None:
    if isinstance(exc, RoundNotUnderReview):
        flash(
            f"{md_escape(str(exc))} This page was out of date (another tab or process acted first); "
            "it now shows the current state.",
            "warning",
        )
    else:
        flash(md_escape(str(exc)), "error")


def on_propose() -> None:
    try:
        revision.propose(eng, me, doc_id, current_settings())
    except RedraftError as exc:
        _refused(exc)


def on_apply(round_id: int) -> None:
    try:
        review_widget.sync_decisions(eng, me, round_id)  # what the browser queued goes in first
        revision.apply_and_continue(eng, me, round_id, current_settings())
    except RedraftError as exc:
        _refused(exc)


def on_finish(for_thread: int, round_id: int | None) -> None:
    try:
        if round_id is not None:
            review_widget.sync_decisions(eng, me, round_id)  # what the browser queued goes in first
        done = revision.finish(eng, me, for_thread, round_id)
        if done.applied_round_depth is not None:
            flash(f"Round {done.applied_round_depth} applied as version v{done.applied_version_number}.")
    except RedraftError as exc:
        _refused(exc)


def on_cancel(job_id: int) -> None:
    try:
        revision.cancel_job(eng, me, job_id)
    except RedraftError as exc:
        _refused(exc)


# --- a job running: progress, cancel -------------------------------------------------------------


@st.fragment(run_every=0.5)
def job_progress(job_id: int) -> None:
    running = revision.get_job(eng, job_id)
    if running.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        st.rerun()
    what = "Proposing edits" if running.kind == revision.PROPOSE else "Applied; proposing the next round"
    if running.status == JobStatus.QUEUED:
        counted = "waiting for a worker…"
    elif running.progress_total:
        counted = f"{running.progress_done} / {running.progress_total} sentences"
    else:
        counted = "starting…"
    fraction = min(1.0, running.progress_done / running.progress_total) if running.progress_total else 0.0
    elapsed = ""
    if running.started_at is not None and running.heartbeat_at is not None:
        elapsed = f" ({(running.heartbeat_at - running.started_at).total_seconds():.0f} s)"
    st.progress(fraction, text=f"{what}: {counted}{elapsed}")
    cancelling = running.cancel_requested
    st.button(
        "Cancelling…" if cancelling else "Cancel",
        icon=":material/cancel:",
        disabled=cancelling,
        key=f"cancel_{job_id}",
        on_click=on_cancel,
        args=(job_id,),
    )


if job is not None and state.job_running:
    st.caption(f"Version {state.version_label(head.id)} · {len(head.text):,} characters")
    job_progress(job.id)
    st.stop()

if job is not None and job.id not in st.session_state.setdefault(SEEN_JOBS, set()):
    st.session_state[SEEN_JOBS].add(job.id)
    result = job.result or {}
    if job.status == JobStatus.CANCELLED or result.get("round_status") == RoundStatus.CANCELLED:
        st.warning("Proposing was cancelled; nothing was stored for that round.", icon=":material/cancel:")
    elif job.status in (JobStatus.FAILED, JobStatus.INTERRUPTED):
        st.error(md_escape(job.error or "The job failed."), icon=":material/error:")
    elif result.get("stop_reason") and settled:
        pass  # the finished revision below says why it stopped: one message, not two
    elif job.kind == revision.CONTINUE:
        st.success("Applied; the next round is ready for review.", icon=":material/check:")

# --- the round under review -----------------------------------------------------------------------


@st.fragment
def review_panel(round_id: int, likely_first: bool) -> None:
    # Each decision in the browser reruns only this fragment, which stores it and answers.
    review_widget.show_round(eng, me, round_id, likely_first=likely_first)


def hidden_panel(round_id: int) -> None:
    """Why edits are hidden ("12 hidden from muted rules"), and unmuting what hides them."""
    summary = learning.hidden_in_round(eng, me, round_id, current_project_id())
    if not summary.counts:
        return
    counts = " · ".join(f"{n} hidden from {label}" for label, n in summary.counts)
    st.caption(f"{counts} — tick “Show hidden” above the text to see them.")
    for mute_id, line in summary.mutes:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.text(line)
            if st.button("Unmute", key=f"unmute_{mute_id}", icon=":material/volume_up:"):
                try:
                    learning.unmute(eng, me, mute_id)
                    flash("Unmuted: its edits show from the next round on.")
                except RedraftError as exc:
                    flash(md_escape(str(exc)), "error")
                st.rerun()


def on_edit_text(round_id: int, seen_version_id: int, key: str) -> None:
    try:
        review_widget.sync_decisions(eng, me, round_id)  # what the browser queued goes in first
        done = manual.edit_text(eng, me, round_id, st.session_state.get(key) or "", seen_version_id=seen_version_id)
    except RedraftError as exc:
        _refused(exc)
        return
    dropped = len(done.dropped)
    flash(
        f"Your change is saved as version #{done.version_id}; {done.kept} edit(s) of this round kept"
        + (f", {dropped} dropped (you changed the text they would change)." if dropped else ".")
    )


def manual_edit_box(round_id: int, base_version_id: int) -> None:
    """The writer changes the text by hand: a new version; the round's edits move with it or are dropped."""
    with st.expander("Edit the text by hand", icon=":material/edit:"):
        key = f"rv_manual_{round_id}_{base_version_id}"  # a new base (this or another tab) starts afresh
        st.text_area(
            "Your text",
            value=review_service.round_view(eng, me, round_id).base_text,
            key=key,
            height=260,
            help="The text this round's edits apply to. Edits on words you change are dropped; the others stay.",
        )
        st.button(
            "Save my change",
            icon=":material/save:",
            key=f"rv_manual_save_{round_id}",
            on_click=on_edit_text,
            args=(round_id, base_version_id, key),
        )


def download_menu(label: str) -> None:
    """The current text and the edit log, each file made only when its button is clicked."""
    when_open(st.popover(label, icon=":material/download:", key="rv_downloads", on_change="rerun"), _downloads)


def _downloads() -> None:
    title = titles.get(doc_id, "document")
    for fmt, name in (("txt", "Text (.txt)"), ("md", "Markdown (.md)"), ("docx", "Word (.docx)")):

        def make(fmt: str = fmt) -> bytes:
            return downloads.current_text_bytes(eng, me, doc_id, fmt, title)

        st.download_button(
            name,
            data=make,
            file_name=safe_filename(title, fmt),
            mime=TEXT_FORMATS[fmt],
            on_click="ignore",
            key=f"dl_{fmt}",
            width="stretch",
        )
    st.caption("The current text: the latest version with this round's decisions so far.")
    for fmt, name in (("jsonl", "Edit log (.jsonl)"), ("csv", "Edit log (.csv)")):

        def make_log(fmt: str = fmt) -> bytes:
            return downloads.edit_log_bytes(eng, me, doc_id, fmt)

        st.download_button(
            name,
            data=make_log,
            file_name=safe_filename(title + " edit log", fmt),
            mime=LOG_FORMATS[fmt],
            on_click="ignore",
            key=f"dl_log_{fmt}",
            width="stretch",
        )


max_depth = int(st.session_state.rv_depth)

if state.reviewing and thread is not None and rnd is not None:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            f"Round {rnd.depth} of at most {max_depth} · on version {state.version_label(rnd.base_version_id)} · "
            "click an edit, or use the keys j / k, a, r, e, u"
        )
        likely_first = st.toggle(
            "Most likely first",
            key="rv_likely_first",
            help="Next / previous visit edits by how likely you are to accept them (learned from your decisions).",
        )
        review_widget.mount_rerun_relay()  # outside the review's fragment: see review_widget
    review_panel(rnd.id, likely_first)
    hidden_panel(rnd.id)
    manual_edit_box(rnd.id, rnd.base_version_id)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Apply and continue",
            type="primary",
            icon=":material/fast_forward:",
            key="apply_continue",
            on_click=on_apply,
            args=(rnd.id,),
        )
        st.button(
            "Finish",
            icon=":material/flag:",
            key="finish",
            help="Apply this round's decisions and stop.",
            on_click=on_finish,
            args=(thread.id, rnd.id),
        )
        download_menu("Download")
    when_open(
        st.expander("Settings for the next round", key="rv_next_settings", on_change="rerun"),
        lambda: settings_form(disabled=False),
    )
    st.stop()

# --- no round under review: the text as it stands, and what to do next ------------------------------


def current_text_box(label: str) -> None:
    """The document's current text, so a writer sees what they opened (or what the revision made)."""
    st.caption(f"{label} · version {state.version_label(head.id)} · {len(head.text):,} characters")
    long = len(head.text) > 1500 or head.text.count("\n") > 20
    with st.container(border=True, height=420 if long else "content", key="rv_text"):
        st.text(head.text if head.text else "(empty document)")


if settled and thread is not None:
    # Settled: one message, the final text, and the next steps (no Apply / Finish to press any more).
    done = sum(1 for r in history if r.status == RoundStatus.APPLIED)
    st.success(
        f"The revision loop stopped: {md_escape(thread.stop_reason or 'finished')}. "
        f"This revision is finished after {done} applied round(s).",
        icon=":material/task_alt:",
    )
    current_text_box("Final text")
    with st.container(horizontal=True, vertical_alignment="center"):
        download_menu("Download")
        st.page_link(
            "app_pages/history.py",
            label="See the history",
            icon=":material/history:",
            query_params={DOC_PARAM: str(doc_id)},
        )

    def new_revision() -> None:
        settings_form(disabled=False)
        st.button(
            "Start a new revision", type="primary", icon=":material/auto_fix_high:", key="propose", on_click=on_propose
        )

    when_open(st.expander("Start a new revision of this text", key="rv_new_revision", on_change="rerun"), new_revision)
    st.stop()

if rnd is not None and rnd.status == RoundStatus.FAILED:
    st.error(f"Round {rnd.depth} failed: {md_escape(rnd.error or 'unknown error')}", icon=":material/error:")
elif rnd is not None and rnd.status == RoundStatus.CANCELLED:
    st.warning(f"Round {rnd.depth} was cancelled.", icon=":material/cancel:")
elif rnd is not None and rnd.status == RoundStatus.APPLIED:
    st.info(f"Round {rnd.depth} is applied. Propose the next round or finish.", icon=":material/info:")

current_text_box("Current text")
with st.container(border=True):
    settings_form(disabled=False)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Propose", type="primary", icon=":material/auto_fix_high:", key="propose", on_click=on_propose)
        if thread is not None and thread.status == ThreadStatus.ACTIVE and rnd is not None:
            st.button("Finish", icon=":material/flag:", key="finish_idle", on_click=on_finish, args=(thread.id, None))
        download_menu("Download")
