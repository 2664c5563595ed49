"""Learning: what Redraft learned from your decisions, and how to undo it.

Your muted rules and intents (unmute any), the project's mutes (admins change them), your
preference threshold and automatic-muting setting, learning on/off, and how well the preference
model predicts you."""

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.errors import RedraftError
from core.proposers.base import ALL_INTENTS
from core.proposers.prompts import DEFAULT_PREFIXES
from core.services import learning as learning_service
from core.services import settings as settings_service
from ui import cached, protected_terms
from ui.state import actor, current_project_id, engine, flash, show_flashes
from ui.text import md_escape

st.title("Learning")
show_flashes()
eng = engine()
me = actor()

projects = settings_service.project_names(eng, me)
default_project = current_project_id()
project_id = st.selectbox(
    "Project",
    list(projects),
    index=list(projects).index(default_project) if default_project in projects else 0,
    format_func=projects.get,
    key="le_project",
)

may_mute_all = settings_service.may_mute_for_project(me, project_id)
view, figures = cached.learning_view(eng, me, project_id)
learning, threshold, mute_after = view.learning, view.threshold, view.auto_mute_after
meta, fitted_at = view.meta, view.fitted_at


def code(value: str) -> str:
    """A rule or intent as inline code: shown literally (a backtick could end the span, so none is left)."""
    return "`" + value.replace("`", "'").replace("\n", " ") + "`"


def act(label: str, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Call a service as this person; say what was done, or why it was refused."""
    try:
        fn(eng, me, *args, **kwargs)
        flash(label)
        st.rerun()
    except RedraftError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")


# --- settings ------------------------------------------------------------------------------------


def your_settings() -> None:
    """Learning on or off, the prediction threshold and automatic muting."""
    with st.form("le_settings", border=False):
        new_learning = st.toggle(
            "Learn from my decisions",
            value=learning,
            help="Off: rejected edits may come back, nothing is muted automatically and nothing is hidden by "
            "prediction (mutes you made by hand still apply).",
            key="le_learning",
        )
        new_threshold = st.slider(
            "Hide edits I am unlikely to accept (predicted acceptance below)",
            min_value=0.0,
            max_value=0.5,
            value=float(threshold),
            step=0.01,
            format="%.2f",
            help="0 hides nothing by prediction. Hidden edits are kept: the review counts them and can show them.",
            key="le_threshold",
        )
        new_mute_after = st.number_input(
            "Mute a rule after this many rejections, none accepted (an intent: three times as many; 0: never)",
            min_value=0,
            max_value=50,
            value=int(mute_after),
            step=1,
            key="le_mute_after",
        )
        new_embeddings = st.checkbox(
            "Use sentence embeddings in the model (MiniLM; slower)",
            value=bool(meta.get("embeddings")),
            key="le_embeddings",
        )
        if st.form_submit_button("Save", type="primary"):
            act(
                "Settings saved.",
                learning_service.update_profile,
                project_id,
                learning=new_learning,
                threshold=float(new_threshold),
                auto_mute_after=int(new_mute_after),
                embeddings=new_embeddings,
            )


# --- mutes -------------------------------------------------------------------------------------


def mutes() -> None:
    """The person's mutes and the project's: what each hides, unmute, mute a rule or intent."""
    mine, project_wide = view.own_mutes, view.project_mutes
    hidden_by_value = figures.hidden_by_value

    st.subheader("Muted for you")
    if not mine:
        st.caption("Nothing muted. A rule you keep rejecting is muted automatically; you can also mute one below.")
    for m in mine:
        c1, c2, c3 = st.columns([6, 2, 2])
        c1.markdown(
            f"**{m.kind}** {code(m.value)}  \n{'automatically, after repeated rejections' if m.automatic else 'by you'}"
        )
        c2.caption(f"{hidden_by_value.get(m.value, 0)} edits hidden")
        if c3.button("Unmute", key=f"le_unmute_{m.id}", icon=":material/volume_up:"):
            act(f"Unmuted {m.kind} {md_escape(m.value)}.", learning_service.unmute, m.id)

    seen_rules, seen_intents = view.seen_rules, view.seen_intents
    # not a form: the choice of rule or intent changes the list to pick from
    c1, c2, c3, c4 = st.columns([2, 5, 2, 1], vertical_alignment="bottom")
    kind = c1.selectbox("Mute a", ["rule", "intent"], key="le_mute_kind")
    options = seen_rules if kind == "rule" else seen_intents
    value = c2.selectbox(
        "Which", options, key=f"le_mute_value_{kind}", placeholder=f"no {kind}s seen in this project yet"
    )
    scope_all = may_mute_all and c3.checkbox(
        "For everyone", key="le_mute_all", help="Mute the rule or intent for the whole project."
    )
    if c4.button("Mute", key="le_mute", disabled=not value):
        act(
            f"Muted {kind} {md_escape(value or '')}{' for the project' if scope_all else ''}.",
            learning_service.mute,
            project_id,
            kind,
            value,
            for_everyone=scope_all,
        )

    st.subheader("Muted for the whole project")
    if not project_wide:
        st.caption("Nothing." + ("" if may_mute_all else " Only an admin can mute for everyone."))
    for m in project_wide:
        c1, c2 = st.columns([8, 2])
        c1.markdown(f"**{m.kind}** {code(m.value)}")
        if may_mute_all and c2.button("Unmute", key=f"le_unmute_{m.id}", icon=":material/volume_up:"):
            act(f"Unmuted {m.kind} {md_escape(m.value)} for the project.", learning_service.unmute, m.id)


# --- the model -----------------------------------------------------------------------------------


def predictions() -> None:
    """How well the preference model predicts the person, and their acceptance by rule."""
    st.subheader("How well Redraft predicts you")
    if st.button("Refit now", key="le_refit", icon=":material/refresh:"):
        act("Model refit.", learning_service.refit, project_id)
    q = figures.quality
    hold = meta.get("holdout") or {}
    c = st.columns(4)
    c[0].metric("Your decided edits", f"{view.own_decided:,}", help="Once per edit, by the decision that stands.")
    c[1].metric(
        "Decided edits in the project" if me.reads_all_decisions else "Decided edits you may see",
        f"{view.project_decided:,}",
        help="Counted as on the Export and Analytics pages"
        + (f"; the model was last fitted on {meta['decisions']:,}." if meta.get("decisions") else "."),
    )
    c[2].metric(
        "Accuracy on your decisions",
        f"{q['accuracy']:.0%}" if q["n"] else "–",
        help="Predictions made before you decided each edit. "
        + (f"Always guessing your usual answer: {q['majority_accuracy']:.0%}." if q["n"] else ""),
    )
    c[3].metric(
        "Held-out accuracy at the last fit",
        f"{hold['accuracy']:.0%}" if hold.get("n") else "–",
        help="The model fitted without your latest decisions, scored on them.",
    )
    if meta.get("note"):
        st.caption(meta["note"])
    if fitted_at:
        st.caption(f"Last fitted {fitted_at:%Y-%m-%d %H:%M} UTC. It is refitted when you start a round after deciding.")

    st.markdown("**Your acceptance by rule** (rules you reject most are muted first)")
    rows = figures.by_source
    if rows:
        df = pd.DataFrame(rows)[
            ["source", "proposed", "shown", "hidden", "accepted", "modified", "rejected", "acceptance"]
        ]
        df = df.sort_values(["rejected", "proposed"], ascending=False)
        st.dataframe(df, hide_index=True, column_config={"acceptance": st.column_config.NumberColumn(format="percent")})
    else:
        st.caption("No decisions in this project yet.")


# --- project settings (admins) -------------------------------------------------------------------


def project_rules() -> None:
    """The project's switched-off rules and per-intent instructions (admins change them)."""
    current_settings = settings_service.project_settings_of(eng, me, project_id)
    may_configure = settings_service.may_change(me, project_id)
    switched_off, prefixes = current_settings.disabled_rules, current_settings.prefixes
    st.caption(
        "Rules switched off here are not run at all in this project (muting only hides their edits). "
        "Instructions are what seq2seq models (CoEdIT style) are told per intent."
        + ("" if may_configure else " Only an admin can change them.")
    )
    if not may_configure:  # the settings as text, no form (core refuses a change too)
        st.text("Rules switched off: " + (", ".join(switched_off) or "none"))
        for intent in ALL_INTENTS:
            st.text(f"Instruction for {intent}: {prefixes.get(intent, DEFAULT_PREFIXES.get(intent, ''))}")
        return
    with st.form("le_project_settings", border=False):
        rules_text = st.text_area(
            "Rules switched off (one rule id or category per line)",
            value="\n".join(switched_off),
            placeholder="lingotweaker:COMMA_COMPOUND_SENTENCE\nharper:SpellCheck",
            key="le_disabled_rules",
        )
        edited = {
            intent: st.text_input(
                f"Instruction for {intent}",
                value=prefixes.get(intent, DEFAULT_PREFIXES.get(intent, "")),
                key=f"le_prefix_{intent}",
            )
            for intent in ALL_INTENTS
        }
        if st.form_submit_button("Save project settings"):
            changed = {k: v for k, v in edited.items() if v != DEFAULT_PREFIXES.get(k, "")}
            act(
                "Project settings saved: they apply from the next round on.",
                settings_service.update_project_settings,
                project_id,
                disabled=rules_text.splitlines(),
                prefixes=changed,
            )


# One tab drawn at a time (a closed tab still runs its body unless told): the page opens at once.
SECTIONS = {
    "Your settings": your_settings,
    "Muted": mutes,
    "Protected terms": lambda: protected_terms.learning_section(eng, me, project_id),
    "Predictions": predictions,
    "Project rules": project_rules,
}
for tab, draw in zip(st.tabs(list(SECTIONS), key="le_tab", on_change="rerun"), SECTIONS.values(), strict=True):
    if tab.open:
        with tab:
            draw()
