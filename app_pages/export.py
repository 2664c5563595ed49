"""Export: choose decisions with filters, see counts and a preview, download the log or a TRL dataset;
import and export R3 interaction logs."""

from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from core.data.export import ExportFilters
from core.errors import RedraftError
from core.services import exports
from ui import cached
from ui.state import actor, engine, show_flashes
from ui.text import md_escape

# Larger exports are written to the server's exports folder instead of a browser download.
DOWNLOAD_LIMIT = 200_000
PREVIEW_COLUMNS = ["decided_at", "user_name", "document_title", "depth", "intent", "before", "after", "action",
                   "modified_text", "sentence"]  # fmt: skip
MIME = {"jsonl": "application/x-ndjson", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
TRL_KINDS = {"sft": "SFT (prompt/completion)", "dpo": "DPO (prompt/chosen/rejected)",
             "kto": "KTO (prompt/completion/label)", "reward": "Reward (chosen/rejected)"}  # fmt: skip

st.title("Export")
show_flashes()
eng = engine()
me = actor()

options = cached.export_options(eng, me)
if me.reads_all_decisions:
    st.caption("As a researcher or admin you export everyone's decisions (narrow them with the filters).")
else:
    st.caption(
        "You export your own decisions only: everyone's are exported by researchers and admins. The counts, "
        "the preview and every file below hold your decisions."
    )

# --- filters -------------------------------------------------------------------------------------

# What each filter is when unset. The filters are drawn only while their expander is open (the page opens
# at once); their values stay in the session meanwhile (persist_state), so a closed box still filters.
UNSET: dict[str, object] = {
    "ex_projects": [], "ex_users": [], "ex_simulated": "all", "ex_intents": [], "ex_depths": [], "ex_specs": [],
    "ex_use_dates": False, "ex_latest": False, "ex_dedupe": False,
}  # fmt: skip


projects = dict(options.projects)
people = {u[0]: f"{u[1]}{' (simulated)' if u[2] else ''}" for u in options.users}
specs = {sp[0]: f"#{sp[0]} {sp[1] or sp[2]}" for sp in options.specs}
# what each multiselect may hold now: a value kept from earlier (a project left, a proposer removed) is dropped
OFFERED: dict[str, Any] = {
    "ex_projects": projects, "ex_users": people, "ex_intents": options.intents, "ex_depths": options.depths,
    "ex_specs": specs,
}  # fmt: skip


def draw_filters() -> None:
    for key in OFFERED:  # a kept value no longer offered would make its widget fail
        if key in st.session_state and st.session_state[key] != chosen(key):
            st.session_state[key] = chosen(key)
    keep = {"persist_state": "session"}
    c1, c2, c3 = st.columns(3)
    with c1:
        st.multiselect("Projects", list(projects), format_func=projects.get, key="ex_projects", **keep)
        st.multiselect("People", list(people), format_func=people.get, key="ex_users", **keep)
        st.radio("Sessions", ["all", "people only", "simulated only"], horizontal=True, key="ex_simulated", **keep)
    with c2:
        st.multiselect("Intents", options.intents, key="ex_intents", **keep)
        st.multiselect("Round depths", options.depths, key="ex_depths", **keep)
        st.multiselect("Proposers", list(specs), format_func=specs.get, key="ex_specs", **keep)
    with c3:
        use_dates = st.checkbox("Only a date range", key="ex_use_dates", **keep)
        st.date_input("Decided between", value=(), key="ex_dates", disabled=not use_dates, **keep)
        st.toggle(
            "Only the decision that stands", key="ex_latest",
            help="One row per edit and person: undo steps back, superseded decisions are left out.", **keep,
        )  # fmt: skip
        st.toggle("Drop identical pairs", key="ex_dedupe", **keep)


def chosen(key: str) -> Any:  # noqa: ANN401 - a filter widget's value
    value = st.session_state.get(key, UNSET.get(key))
    if key in OFFERED:
        value = [v for v in value or () if v in OFFERED[key]]
    return value


set_count = sum(chosen(k) != unset for k, unset in UNSET.items())
box = st.expander(  # (a constant label: a new one would make a new, closed expander)
    "Which decisions",
    key="ex_filters_open",
    on_change="rerun",
    icon=":material/filter_alt:",
)
if box.open:
    with box:
        draw_filters()
project_ids, user_ids, simulated = chosen("ex_projects"), chosen("ex_users"), chosen("ex_simulated")
intents, depths, spec_ids = chosen("ex_intents"), chosen("ex_depths"), chosen("ex_specs")
use_dates, dates, latest, dedupe = chosen("ex_use_dates"), chosen("ex_dates"), chosen("ex_latest"), chosen("ex_dedupe")

since = until = None
if use_dates and isinstance(dates, tuple) and len(dates) == 2:
    since = datetime.combine(dates[0], time.min, tzinfo=UTC)
    until = datetime.combine(dates[1], time.max, tzinfo=UTC)

try:
    filters = ExportFilters(
        project_ids=tuple(project_ids), user_ids=tuple(user_ids), spec_ids=tuple(spec_ids), intents=tuple(intents),
        depths=tuple(depths), since=since, until=until, latest_only=latest, dedupe=dedupe,
        simulated={"all": None, "people only": False, "simulated only": True}[simulated],
    )  # fmt: skip
except RedraftError as exc:
    st.error(md_escape(str(exc)), icon=":material/error:")
    st.stop()

# --- counts and preview ------------------------------------------------------------------------------

try:
    found = cached.export_overview(eng, me, filters, 20)
except RedraftError as exc:
    st.error(md_escape(str(exc)), icon=":material/error:")
    st.stop()
summary, rows = found.summary, found.preview

m1, m2, m3 = st.columns(3)
m1.metric(
    "Decided edits",
    f"{summary.decisions:,}",
    help="Counted as on every page: once per edit and person, by the decision that stands after undo. "
    f"The log holds {summary.rows:,} decision rows here (undo and changed decisions included).",
)
m2.metric("Documents", f"{summary.documents:,}")
m3.metric("People", f"{summary.people:,}")
st.caption(
    f"The file holds {'one row per decided edit and person' if latest else f'{summary.rows:,} decision rows'}"
    + (", duplicates dropped." if dedupe else ".")
    + (f" {set_count} filter(s) set." if set_count else " No filter set: every decision you may export.")
)
if summary.rows:
    # one line per breakdown, in one element: three tables cost the page more to draw than they tell
    breakdowns = {"By action": summary.by_action, "By intent": summary.by_intent, "By round depth": summary.by_depth}
    st.markdown(
        "  \n".join(
            f"**{name}:** " + " · ".join(f"{md_escape(str(key))} {n:,}" for key, n in counts.items())
            for name, counts in breakdowns.items()
        )
    )
    # the preview is drawn only while open (a closed expander still runs its body unless told)
    preview = st.expander("Preview (the first 20 rows)", key="ex_preview_open", on_change="rerun")
    if preview.open:
        with preview:
            st.dataframe([{k: r[k] for k in PREVIEW_COLUMNS} for r in rows], hide_index=True, key="ex_preview")
else:
    st.info("No decisions match these filters.", icon=":material/filter_alt_off:")

# --- downloads -----------------------------------------------------------------------------------------

stamp = datetime.now().strftime("%Y%m%d-%H%M%S")


def decision_log() -> None:
    fmt_names = {"hf": "Hugging Face DatasetDict (on the server)"}
    fmt = st.radio(
        "Format", ["jsonl", "csv", "parquet", "hf"], horizontal=True, key="ex_fmt", persist_state="page",
        format_func=lambda f: fmt_names.get(f, f.upper()),
    )  # fmt: skip
    if fmt != "hf" and summary.rows <= DOWNLOAD_LIMIT:
        if st.button("Prepare download", key="ex_prepare", icon=":material/download:", disabled=not summary.rows):
            with st.spinner("Exporting…"):
                st.session_state.ex_bytes = (fmt, exports.log_bytes(eng, me, filters, fmt))
        prepared = st.session_state.get("ex_bytes")
        if prepared and prepared[0] == fmt:
            st.download_button(
                f"Download decisions.{fmt}", prepared[1], file_name=f"decisions-{stamp}.{fmt}", mime=MIME[fmt],
                key="ex_download", type="primary", icon=":material/download:",
            )  # fmt: skip
    else:
        if fmt != "hf":
            st.caption(f"More than {DOWNLOAD_LIMIT:,} decisions: the file is written on the server.")
        test_fraction = (
            st.slider("Documents held out as test", 0.0, 0.5, 0.0, 0.05, key="ex_log_test", persist_state="page")
            if fmt == "hf"
            else 0.0
        )
        if st.button("Save on the server", key="ex_save", disabled=not summary.rows, icon=":material/save:"):
            try:
                with st.spinner("Exporting…"):
                    result = exports.save_log(eng, me, filters, fmt, test_fraction=test_fraction)
                st.success(f"Wrote {result.rows:,} rows to {md_escape(str(result.path))}", icon=":material/check:")
            except RedraftError as exc:
                st.error(md_escape(str(exc)), icon=":material/error:")


def training_data() -> None:
    st.caption(
        "Datasets in TRL's field names, split into train and test by document. Prompts follow the proposer "
        "that made each edit (CoEdIT instructions for seq2seq models and rules, chat messages for chat models)."
    )
    kind = st.radio(
        "Dataset", list(TRL_KINDS), format_func=TRL_KINDS.get, horizontal=True, key="ex_trl_kind", persist_state="page"
    )
    a, b, c = st.columns(3)
    style = a.selectbox("Prompt style", ["auto", "seq2seq", "chat"], key="ex_trl_style", persist_state="page")
    test_share = b.slider("Documents held out as test", 0.0, 0.5, 0.1, 0.05, key="ex_trl_test", persist_state="page")
    messages = c.checkbox("SFT as `messages`", key="ex_trl_messages", disabled=kind != "sft", persist_state="page")
    if st.button("Build dataset", key="ex_trl_build", disabled=not summary.decisions, icon=":material/dataset:"):
        try:
            with st.spinner("Building…"):
                built = exports.trl_dataset(
                    eng, me, filters, kind, style=style, messages=messages, test_fraction=test_share
                )
            st.session_state.ex_trl = (built.kind, built.counts, built.stats, built.zip_bytes)
        except RedraftError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")
    built = st.session_state.get("ex_trl")
    if built and built[0] == kind:
        counts, stats = built[1], built[2]
        st.write(
            f"{counts['train']:,} train and {counts['test']:,} test rows from {stats['decisions']:,} decided edits "
            f"({stats['skipped_no_change']:,} without a change, {stats['skipped_no_prompt']:,} without a prompt, "
            f"{stats['duplicates']:,} duplicates left out)."
        )
        st.download_button(
            f"Download {kind}.zip (train.jsonl, test.jsonl)", built[3], file_name=f"{kind}-{stamp}.zip",
            mime="application/zip", key="ex_trl_download", type="primary", icon=":material/download:",
        )  # fmt: skip


def r3_logs() -> None:
    st.caption("R3 / IteraTeR interaction logs: whole-session files or one file per round (JSON or JSON Lines).")
    uploads = st.file_uploader("Import R3 logs", type=["json", "jsonl"], accept_multiple_files=True, key="ex_r3_up")
    if st.button("Import", key="ex_r3_import", disabled=not uploads, icon=":material/upload:"):
        try:
            result = exports.import_r3(eng, me, [(up.name, up.getvalue()) for up in uploads or []])
            st.success(
                f"Imported {result['sessions']} session(s): {result['rounds']} rounds, {result['edits']} edits, "
                f"{result['accepted']} accepted and {result['rejected']} rejected.", icon=":material/check:",
            )  # fmt: skip
            for problem in result["refused"]:
                st.error(md_escape(problem), icon=":material/error:")
            for problem in result["skipped"]:
                st.warning(md_escape(problem), icon=":material/warning:")
        except RedraftError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")
    threads = cached.r3_threads(eng, me, filters)
    st.write(f"{len(threads)} thread(s) match the filters above.")
    if st.button("Prepare R3 files", key="ex_r3_prepare", disabled=not threads, icon=":material/folder_zip:"):
        try:
            st.session_state.ex_r3 = exports.r3_zip(eng, me, threads)
        except RedraftError as exc:
            st.error(md_escape(str(exc)), icon=":material/error:")
    if st.session_state.get("ex_r3"):
        st.download_button(
            "Download R3 logs (.zip)", st.session_state.ex_r3, file_name=f"r3-{stamp}.zip", mime="application/zip",
            key="ex_r3_download", icon=":material/download:",
        )  # fmt: skip


# only the open tab is drawn (a closed tab still runs its body unless told)
log_tab, trl_tab, r3_tab = st.tabs(["Decision log", "Training data (TRL)", "R3 logs"], key="ex_tab", on_change="rerun")
for tab, draw in ((log_tab, decision_log), (trl_tab, training_data), (r3_tab, r3_logs)):
    if tab.open:
        with tab:
            draw()
