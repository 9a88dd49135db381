"""Where sweeps live: Optuna's journal file in the design's runs folder by default (several processes
on one machine share it through a lock file), or any storage URL Optuna takes (``sqlite:///PATH``,
``postgresql://...``, ``mysql://...``) for workers on several machines.

A storage holds many sweeps (Optuna studies); each remembers the design it sweeps and its
``--param`` texts, so a worker that joins it, and ``cnnstudio sweeps``, need nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnstudio.sweeps.space import SweepError, one_line

JOURNAL = "sweeps.journal"
# The pip package of each database driver SQLAlchemy may ask for (postgresql:// means psycopg 3 in SQLAlchemy 2.1)
DRIVERS = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL", "MySQLdb": "mysqlclient"}


@dataclass(frozen=True)
class Where:
    """A storage as the user named it: ``text`` is shown (passwords hidden), ``url`` or ``journal`` opens it."""

    text: str
    url: str | None = None
    journal: Path | None = None

    @property
    def exists(self) -> bool:
        """False for a journal file not written yet (listing it must not create it)."""
        return self.journal is None or self.journal.is_file()


def where(storage: str | None, runs: Path) -> Where:
    """``--storage`` as given, or the journal file in the design's runs folder."""
    if storage is None:
        path = runs / JOURNAL
        return Where(one_line(str(path)), journal=path)
    if "://" not in storage:
        path = Path(storage).expanduser()
        return Where(one_line(str(path)), journal=path)
    return Where(one_line(_hide_password(storage)), url=storage)


def _hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: shown as given, less any user:password@
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"


def open_storage(place: Where) -> Any:
    """The Optuna storage; :class:`SweepError` with a sentence when it cannot be opened or reached."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if place.journal is not None:
        try:
            place.journal.parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(place.journal)))
        except OSError as error:
            raise SweepError(f"the sweep storage {place.text} cannot be written: {error.strerror or error}") from None
    scheme = place.url.split("://", 1)[0].split("+", 1)[0]
    # a server that does not answer is a sentence within seconds; SQLite waits for a worker's write lock
    kwargs = {"connect_args": {"connect_timeout": 10}} if scheme in ("postgresql", "mysql") else \
        {"connect_args": {"timeout": 30}} if scheme == "sqlite" else {}
    try:
        return _rdb(place.url, kwargs)
    except ImportError as error:  # Optuna's, from the driver's ModuleNotFoundError
        missing = getattr(error.__cause__, "name", None) or getattr(error, "name", None) or scheme
        raise SweepError(f"the storage {place.text} needs the database driver {missing}, which is not installed: "
                         f"pip install {DRIVERS.get(missing, missing)}") from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's errors differ by database; each is a sentence here
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise SweepError(f"the storage {place.text} cannot be reached or opened: {reason}") from None


def _rdb(url: str, engine_kwargs: dict[str, Any], tries: int = 5) -> Any:
    """Optuna's SQL storage. Workers started together on an empty database all create its tables,
    and all but one then fail on a duplicate key (PostgreSQL; a UNIQUE constraint or a locked database
    on SQLite); a retry finds the tables made."""
    import optuna
    from sqlalchemy.exc import DBAPIError

    for attempt in range(tries - 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except DBAPIError as error:
            text = str(error.orig).lower()
            if not any(sign in text for sign in ("duplicate", "unique constraint", "already exists", "database is locked")):
                raise
            time.sleep(0.5 * (attempt + 1))
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
