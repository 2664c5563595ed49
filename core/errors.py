"""A small error hierarchy: every error a user can see says what was wrong and what to do."""


class RedraftError(Exception):
    """Base of all errors Redraft reports to a person."""


class InputError(RedraftError):
    """The input (text, file, parameter) cannot be used as given."""


class NotFoundError(RedraftError):
    """A referenced record does not exist."""


class ConflictError(RedraftError):
    """The operation conflicts with the current state (e.g. overlapping edits, a round already applied)."""


class ProposerError(RedraftError):
    """A proposer failed: the model could not load, timed out, or the server errored."""
