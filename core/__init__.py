"""Redraft core: the product as a plain Python library (never imports streamlit)."""
