"""Errors a user can cause. The CLI prints them as one line and exits with status 2."""


class UserError(Exception):
    """A problem the user can fix (wrong port, damaged file, bad option): message says what and what to do."""


class RecordingError(UserError):
    """A recording file is missing, damaged, or not a recording."""


class SourceError(UserError):
    """A signal source cannot be opened or its specification is wrong."""
