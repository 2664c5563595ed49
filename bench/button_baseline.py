"""Baseline for bench/ui_latency.py: the plain Streamlit way, one st.button per edit.

    DATABASE_URL=sqlite:///... REDRAFT_BENCH_ROUND=1 streamlit run bench/button_baseline.py

Every click reruns the script, which stores the decision and redraws every row: the cost the
review component avoids. Same database, same round, same core calls as the Revise page.
"""

import os
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.db import get_engine, session_scope  # noqa: E402
from core.documents import default_user  # noqa: E402
from core.revision import review  # noqa: E402

st.set_page_config(page_title="Baseline", layout="wide")
eng = get_engine()
round_id = int(os.environ["REDRAFT_BENCH_ROUND"])
with session_scope(eng) as s:
    user_id = default_user(s).id


def accept(edit_id: int) -> None:
    with session_scope(eng) as s:
        review.decide(s, edit_id, user_id, "accept")


with session_scope(eng) as s:
    view = review.round_view(s, round_id, user_id)
st.title("Plain buttons")
st.caption(f"{view.count('pending')} pending · {view.count('accept')} accepted")
for e in view.edits:
    with st.container(horizontal=True, key=f"row_{e.row.id}", vertical_alignment="center"):
        st.text(f"{e.row.before} → {e.row.after} ({e.row.intent})")
        if e.status == "accept":
            st.text("accepted")
        else:
            st.button("Accept", key=f"acc_{e.row.id}", on_click=accept, args=(e.row.id,))
