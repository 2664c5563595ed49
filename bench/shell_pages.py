"""A second baseline for bench/page_load.py: the app's own shell (page config, the database, the sign-in
check and the sidebar caption, which pages the person may see: what app.py runs before every page) around
two pages holding only a title. Against it, a page's ratio is what the page itself costs."""

import streamlit as st

from core.services import campaign_views
from ui.signin import signed_in_user, who_caption
from ui.state import actor, begin_run, engine

st.set_page_config(page_title="Redraft", page_icon=":material/edit_note:", layout="wide")
begin_run()
engine()
signed_in_user()
who_caption()
campaign_views.page_access(engine(), actor())


def page_a() -> None:
    st.title("Empty A")
    actor()


def page_b() -> None:
    st.title("Empty B")
    actor()


st.navigation([st.Page(page_a, title="Empty A", default=True), st.Page(page_b, title="Empty B")]).run()
