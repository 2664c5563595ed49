"""The baseline for bench/page_load.py: two empty Streamlit pages with a title each, nothing else."""

import streamlit as st


def page_a() -> None:
    st.title("Empty A")


def page_b() -> None:
    st.title("Empty B")


st.navigation([st.Page(page_a, title="Empty A", default=True), st.Page(page_b, title="Empty B")]).run()
