"""Names that must not look like one that exists already (teams, factories, organisers,
challenge titles): compared by their skeletons (arena.domain.names)."""

from __future__ import annotations

from sqlalchemy import select

from arena.domain.names import clean_name, skeletons
from arena.errors import Conflict

__all__ = ["clean_name", "refuse_confusable"]  # clean_name: accounts.py takes it from here


def refuse_confusable(session, column, name: str, what: str, *, same_ok: bool = False) -> None:
    """Refuse `name` when an existing value of `column` looks like it (the same name exactly too,
    unless `same_ok`: a factory named again is the same factory)."""
    wanted = skeletons(name)
    for existing in session.scalars(select(column)):
        if skeletons(existing) & wanted and not (same_ok and existing == name):
            if existing == name:
                raise Conflict(f"a {what} named {name!r} exists already")
            raise Conflict(
                f"the {what} name {name!r} looks like the existing {existing!r}; choose "
                "a name that cannot be taken for it"
            )
