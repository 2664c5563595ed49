"""Models: proposer specs as a lineage tree, training runs with their metrics, and a fine-tune to start,
watch (progress and loss) and cancel."""

import threading

import streamlit as st

from core.data.export import ExportFilters, filter_options, summarize
from core.db import session_scope
from core.errors import RedraftError
from core.proposers.registry import MODEL_KINDS
from core.specs import register_spec
from core.training.finetune import METHODS, FinetuneConfig, FinetuneJob, lineage, training_runs
from ui.state import engine, flash, show_flashes

st.title("Models")
show_flashes()
eng = engine()


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, FinetuneJob]:
    """One fine-tune per database at a time, shared by every session: a reload finds it running."""
    return {}


_jobs_lock = threading.Lock()
job_key = str(eng.url)

with session_scope(eng) as s:
    nodes = lineage(s)
    runs = training_runs(s)
    options = filter_options(s)

# --- add a proposer --------------------------------------------------------------------------------

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
                with session_scope(eng) as s:
                    row = register_spec(s, spec_text, spec_name)
                    added = (row.id, row.name or row.kind)
                flash(f"Proposer #{added[0]} ({added[1]}) is stored: choose it on the Revise page.")
                st.rerun()
            except RedraftError as exc:
                st.error(str(exc), icon=":material/error:")

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
bases = {n.spec.id: f"#{n.spec.id} {n.spec.name or n.spec.model}" for n in nodes if n.spec.kind in MODEL_KINDS}
job = _jobs().get(job_key)

if job is not None and (job.running or job.run is not None or job.error):

    @st.fragment(run_every=1.0)
    def _progress() -> None:
        current = _jobs().get(job_key)
        if current is None:
            return
        p = current.latest
        if current.running:
            label = f"step {p.step} of {p.total_steps}, loss {p.loss:.4f}" if p and p.loss is not None else "preparing…"
            st.progress(p.fraction if p else 0.0, text=label)
            if current.losses:
                st.line_chart({"loss": [v for _, v in current.losses]}, x_label="logged step", y_label="loss")
            if st.button("Cancel", key="md_cancel", icon=":material/stop:", disabled=current.cancel_event.is_set()):
                current.cancel()
                st.rerun(scope="fragment")
            return
        if current.error:
            st.error(current.error, icon=":material/error:")
        elif current.run is not None and current.run.status == "done":
            st.success(
                f"Run {current.run.id} finished: the new proposer #{current.run.result_spec_id} is ready to choose "
                "on the Revise page.",
                icon=":material/check:",
            )
        elif current.run is not None:
            st.warning(f"Run {current.run.id} was {current.run.status}.", icon=":material/warning:")
        if st.button("Done", key="md_clear"):
            with _jobs_lock:
                _jobs().pop(job_key, None)
            st.rerun()

    _progress()
elif not bases:
    st.info(
        "Fine-tuning needs a transformers proposer (kind hf-seq2seq or hf-chat): add one above.",
        icon=":material/info:",
    )
else:
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
            with session_scope(eng) as s:
                if summarize(s, filters).decisions == 0:
                    raise RedraftError("No decisions match these filters: there is nothing to train on.")
            with _jobs_lock:
                running = _jobs().get(job_key)
                if running is not None and running.running:
                    raise RedraftError("A fine-tune is already running; wait for it or cancel it.")
                _jobs()[job_key] = FinetuneJob().start(eng, base_id, config, filters=filters)
            st.rerun()
        except RedraftError as exc:
            st.error(str(exc), icon=":material/error:")
