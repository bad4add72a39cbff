"""What a person writes for "the events I want" -- ``push``, ``pull_request.opened``, ``issues.opened.v1`` -- as the
catalog's CloudEvents types, and back.

Why a module of its own: stack config lets a Subscription name events either natively or by CloudEvents type, and the
program turns them into the types a Subscription lists (the way back, type -> native, is the catalog's own
``entry_for_type``). Both go through the catalog (:mod:`kyma_connectors.core.catalog`), never a hand-kept table, so a
regenerated catalog changes both at once.

Resolution of one name, first match wins:

1. a catalog type (``pullrequest.opened.v1``) -- itself;
2. ``<event>.<action>`` (``pull_request.opened``) with exactly that entry in the catalog -- its type;
3. a native event (``pull_request``) -- every type of that event, one per action, in catalog order.
"""

from __future__ import annotations

from kyma_connectors.core.catalog import Catalog


def types_for(catalog: Catalog, name: str) -> list[str]:
    """The catalog types ``name`` stands for; empty when the catalog knows no such event or type."""
    by_type = [entry for entry in catalog.events if entry.type == name]
    if by_type:
        return [name]
    event, _, action = name.partition(".")
    if action:
        exact = [entry.type for entry in catalog.events if entry.event == event and entry.action == action]
        if exact:
            return exact
    return [entry.type for entry in catalog.events if entry.event == name]


def describe_known(catalog: Catalog, limit: int = 12) -> str:
    """A short hint of valid names for error messages (native events first)."""
    names = catalog.native_events()
    shown = ", ".join(names[:limit])
    return f"{shown}{', ...' if len(names) > limit else ''}; or <event>.<action>, or a catalog type such as " \
           f"{catalog.events[0].type}" if catalog.events else shown
