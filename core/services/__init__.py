"""Use cases: what a page or the CLI does, each taking the acting person (core.access.Actor).

Transactions begin and end here; pages and ui/ never open a database session, they call these.
"""
