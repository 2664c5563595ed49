"""Redraft served with its HTTP routes: `streamlit run serve.py` (the same app as `streamlit run app.py`,
plus the routes that keep the password sign-in's session cookie HttpOnly: ui/session_routes.py)."""

from __future__ import annotations

import streamlit as st

from ui.session_routes import ROUTES, mark_mounted

mark_mounted()
app = st.App("app.py", routes=ROUTES)
