"""A second baseline for bench/page_load.py: the app's own shell (page config, the database, the person
switcher in the sidebar: what app.py runs before every page) around two pages holding only a title.
Against it, a page's ratio is what the page itself costs."""

import streamlit as st

from ui.state import actor, engine, user_switcher

st.set_page_config(page_title="Redraft", page_icon=":material/edit_note:", layout="wide")
engine()
user_switcher()


def page_a() -> None:
    st.title("Empty A")
    actor()


def page_b() -> None:
    st.title("Empty B")
    actor()


st.navigation([st.Page(page_a, title="Empty A", default=True), st.Page(page_b, title="Empty B")]).run()
