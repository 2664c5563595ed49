"""Redraft: human-in-the-loop iterative text revision. Run with `streamlit run app.py`."""

import streamlit as st

from ui.state import current_user_id, engine

st.set_page_config(page_title="Redraft", page_icon=":material/edit_note:", layout="wide")

engine()  # open (and migrate) the database before any page runs
current_user_id()

PAGES = [
    st.Page("pages/documents.py", title="Documents", icon=":material/description:", default=True),
]

st.navigation(PAGES).run()
