"""The one exception type the engine raises for problems a user can fix."""

from __future__ import annotations


class TrainingError(ValueError):
    """Training cannot start or go on; the message is a sentence saying what to do."""


class NotWritten(TrainingError):
    """A file of the run (its checkpoint, its metrics) could not be written: a full disk, a file
    size limit. The previous file is kept, so a stop asked for meanwhile still ends as a stop."""


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error's message, cut; the type's name when the message is empty
    (an empty file makes torch raise errors with no message)."""
    lines = str(error).strip().splitlines()
    return lines[0][:limit] if lines else type(error).__name__
