"""The one exception type the engine raises for problems a user can fix."""

from __future__ import annotations


class TrainingError(ValueError):
    """Training cannot start or go on; the message is a sentence saying what to do."""
