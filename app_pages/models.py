"""Models: proposer specs as a lineage tree, training runs with their metrics, and a fine-tune to start,
watch (progress and loss) and cancel."""

import streamlit as st

from core.data.export import ExportFilters
from core.errors import RedraftError
from core.models import JobStatus
from core.services import training
from core.training.finetune import METHODS, FinetuneConfig
from ui import cached
from ui.state import actor, engine, flash, show_flashes
from ui.text import md_escape

SEEN_JOBS = "_md_jobs_shown"  # fine-tune jobs whose outcome this session has dismissed

st.title("Models")
show_flashes()
eng = engine()
me = actor()

overview = training.models_overview(eng, me)
nodes, runs, job = overview.nodes, overview.runs, overview.job

# --- add a proposer --------------------------------------------------------------------------------

if training.may_add_proposer(me):  # admins only (core checks too, and where an endpoint may point)
    with st.expander("Add a proposer (a model or a server)", icon=":material/add:"):
        with st.form("add_proposer", border=False):
            spec_text = st.text_input(
                "Proposer",
                key="add_spec",
                placeholder="hf-seq2seq:grammarly/coedit-large",
                help="hf-seq2seq:MODEL or hf-chat:MODEL (a Hugging Face model id or a local path), or "
                "openai:http://host:port/v1#MODEL for a vLLM, TGI, Ollama, llama.cpp or OpenAI server. "
                "Settings go after '?', e.g. ?max_new_tokens=64&device=cuda. The model loads on the first round.",
            )
            spec_name = st.text_input("Name (optional)", key="add_spec_name", max_chars=100)
            if st.form_submit_button("Add proposer", icon=":material/add:"):
                try:
                    row = training.add_proposer(eng, me, spec_text, spec_name)
                    added = md_escape(row.name or row.kind)
                    flash(f"Proposer #{row.id} ({added}) is stored: choose it on the Revise page.")
                    st.rerun()
                except RedraftError as exc:
                    st.error(md_escape(str(exc)), icon=":material/error:")

# --- lineage -----------------------------------------------------------------------------------------

st.subheader("Proposers")
if not nodes:
    st.info("No proposers are stored yet: add one above, or run a round.", icon=":material/info:")
else:
    st.dataframe(
        [
            {
                "proposer": ("\u2003" * n.level + ("\u2514 " if n.level else "")) + (n.spec.name or n.spec.kind),
                "id": n.spec.id,
                "kind": n.spec.kind,
                "model": n.spec.model or "",
                "trained by": f"run {n.run.id} ({n.run.method}{', LoRA' if n.run.hyperparams.get('lora') else ''})"
                if n.run
                else "",
                "created": n.spec.created_at,
            }
            for n in nodes
        ],
        hide_index=True,
        key="md_lineage",
    )

# --- training runs -----------------------------------------------------------------------------------

st.subheader("Training runs")
if not runs:
    st.caption("No training runs yet.")
else:
    st.dataframe(
        [
            {
                "run": r.id,
                "method": r.method + (" LoRA" if r.hyperparams.get("lora") else ""),
                "status": r.status,
                "base": r.base_spec_id,
                "result": r.result_spec_id,
                "train rows": (r.data_snapshot.get("counts") or {}).get("train"),
                "steps": r.metrics.get("steps"),
                "first loss": r.metrics.get("first_loss"),
                "final loss": r.metrics.get("final_loss"),
                "eval loss": r.metrics.get("eval_loss"),
                "started": r.created_at,
                "error": r.error or "",
            }
            for r in runs
        ],
        hide_index=True,
        key="md_runs",
    )
    chosen = st.selectbox("Loss curve of run", [r.id for r in runs], key="md_curve_run")
    history = next(r for r in runs if r.id == chosen).metrics.get("loss_history") or []
    if history:
        st.line_chart({"loss": [h["loss"] for h in history]}, x_label="logged step", y_label="loss")
    with st.expander("Data and settings of this run"):
        run = next(r for r in runs if r.id == chosen)
        st.json({"data": run.data_snapshot, "hyperparameters": run.hyperparams, "output": run.output_dir})

# --- start a fine-tune -------------------------------------------------------------------------------

st.subheader("Fine-tune")
bases = overview.bases


def on_cancel(job_id: int) -> None:
    try:
        training.cancel_finetune(eng, me, job_id)
    except RedraftError as exc:
        flash(md_escape(str(exc)), "error")


@st.fragment(run_every=1.0)
def finetune_progress(job_id: int) -> None:
    """The running fine-tune's row: step and loss, the loss curve so far, Cancel."""
    current = training.get_job(eng, me, job_id)
    if current.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        st.rerun()
    if current.status == JobStatus.QUEUED:
        label = "waiting for a worker…"
    elif current.progress_total:
        label = f"step {current.progress_done} of {current.progress_total}, {md_escape(current.message or 'training')}"
    else:
        label = "preparing…"
    fraction = min(1.0, current.progress_done / current.progress_total) if current.progress_total else 0.0
    st.progress(fraction, text=label)
    losses = training.losses_of(current)
    if losses:
        st.line_chart({"loss": losses}, x_label="logged step", y_label="loss")
    mine = current.owner_id == me.user_id or me.is_admin
    st.button(
        "Cancelling…" if current.cancel_requested else "Cancel",
        key="md_cancel",
        icon=":material/stop:",
        disabled=current.cancel_requested or not mine,
        help=None if mine else "Only the person who started it (or an admin) can cancel it.",
        on_click=on_cancel,
        args=(job_id,),
    )


def finetune_outcome(done: JobStatus | str, result: dict, error: str | None) -> None:
    """How the last fine-tune ended."""
    run_id = result.get("training_run_id")
    if done == JobStatus.DONE and result.get("run_status") == "done":
        st.success(
            f"Run {run_id} finished: the new proposer #{result.get('result_spec_id')} is ready to choose "
            "on the Revise page.",
            icon=":material/check:",
        )
    elif done == JobStatus.CANCELLED:
        what = f"Run {run_id}" if run_id else "The fine-tune"
        st.warning(f"{what} was cancelled: nothing was registered.", icon=":material/warning:")
    else:
        st.error(md_escape(error or "The fine-tune failed."), icon=":material/error:")


if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
    finetune_progress(job.id)
    st.stop()

if job is not None and job.id not in st.session_state.setdefault(SEEN_JOBS, set()):
    finetune_outcome(job.status, job.result or {}, job.error)
    if st.button("Done", key="md_clear"):
        st.session_state[SEEN_JOBS].add(job.id)
        st.rerun()

if not bases:
    st.info(
        "Fine-tuning needs a transformers proposer (kind hf-seq2seq or hf-chat): add one above.",
        icon=":material/info:",
    )
    st.stop()

if not me.reads_all_decisions:
    st.caption("You fine-tune on your own decisions: researchers and admins train on everyone's.")
with st.form("md_start"):
    a, b, c = st.columns(3)
    base_id = a.selectbox("Base model", list(bases), format_func=bases.get)
    method = b.radio(
        "Method", METHODS, horizontal=True, format_func=str.upper,
        help="SFT learns accepted and rewritten text; DPO and KTO learn from rejections too.",
    )  # fmt: skip
    lora = c.toggle("LoRA (peft)", help="Train a small adapter; it is merged into the saved model.")
    st.markdown("**Data**")
    d1, d2, d3 = st.columns(3)
    options = cached.export_options(eng, me)
    projects = dict(options.projects)
    people = {u[0]: u[1] for u in options.users}
    project_ids = d1.multiselect("Projects", list(projects), format_func=projects.get)
    user_ids = d2.multiselect("People", list(people), format_func=people.get)
    intents = d3.multiselect("Intents", options.intents)
    simulated = d1.radio("Sessions", ["all", "people only", "simulated only"], horizontal=True)
    with st.expander("Hyperparameters"):
        defaults = FinetuneConfig()
        h1, h2, h3, h4 = st.columns(4)
        epochs = h1.number_input("Epochs", 0.1, 100.0, defaults.epochs, 0.5)
        max_steps = h2.number_input("Max steps (0: by epochs)", 0, 1_000_000, 0)
        lr = h3.number_input("Learning rate (0: default)", 0.0, 1.0, 0.0, format="%.6f")
        batch = h4.number_input("Batch size", 1, 1024, defaults.batch_size)
        beta = h1.number_input("Beta (DPO/KTO)", 0.0, 10.0, defaults.beta, 0.05)
        max_length = h2.number_input("Max tokens", 16, 32768, defaults.max_length)
        test_fraction = h3.number_input("Test documents", 0.0, 0.5, defaults.test_fraction, 0.05)
        lora_r = h4.number_input("LoRA rank", 1, 512, defaults.lora_r)
        name = st.text_input("Name of the new proposer (optional)")
    submitted = st.form_submit_button("Start fine-tuning", type="primary", icon=":material/model_training:")
if submitted:
    try:
        filters = ExportFilters(
            project_ids=tuple(project_ids), user_ids=tuple(user_ids), intents=tuple(intents),
            simulated={"all": None, "people only": False, "simulated only": True}[simulated],
        )  # fmt: skip
        config = FinetuneConfig(
            method=method, lora=lora, epochs=float(epochs), max_steps=int(max_steps) or -1,
            learning_rate=float(lr) or None, batch_size=int(batch), beta=float(beta), max_length=int(max_length),
            test_fraction=float(test_fraction), lora_r=int(lora_r), lora_alpha=2 * int(lora_r), name=name.strip(),
        )  # fmt: skip
        started = training.start_finetune(eng, me, base_id, config, filters)
        st.session_state.setdefault(SEEN_JOBS, set()).discard(started.id)
        st.rerun()
    except RedraftError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
