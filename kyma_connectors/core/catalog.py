"""The event catalog: one solution's AsyncAPI document, read once, as typed values.

Why a package of its own: the AsyncAPI document in ``specs/<solution>/asyncapi.yaml`` is the single source of truth
for four consumers that must never disagree -- the Pulumi program (the webhook's event list and the Application's
``Events`` entry), the webhook provider (what to subscribe to), the event gateway (which CloudEvents ``type`` a delivery
becomes) and the registrar (what it registers). Each of them imports this module instead of reading YAML itself.

Document shape (AsyncAPI 2.x): every channel name *is* a CloudEvents type, and its ``subscribe.message`` carries an
``x-kyma-connectors`` object naming the solution-native event::

    channels:
      issues.opened.v1:
        subscribe:
          message:
            name: issues.opened
            summary: ...
            x-kyma-connectors: {event: issues, action: opened}      # `subscribe: false` for e.g. ping

``x-kyma-connectors.subscription`` names what the webhook subscribes to when that differs from the event name
(Qualtrics subscribes per survey, ``surveyengine.completedResponse.*``, but delivers the survey id in the topic).

Types are restricted to ``[a-z0-9.]`` with at least two segments: Kyma eventing strips everything else from a type,
so a type that survives cleaning unchanged is the only kind a Subscription can name reliably.

The naming rule (:func:`derive_type`): each dot-separated part of the native event name, then of the action,
lowercased with everything outside ``[a-z0-9]`` removed, joined with ``.``, then ``.v1``:
``pull_request`` + ``review_requested`` -> ``pullrequest.reviewrequested.v1``; ``surveyengine.completedResponse`` ->
``surveyengine.completedresponse.v1``. The generated GitHub catalog names every channel this way, and the gateway
publishes a delivery the catalog does not list under the type the rule derives for it (``Catalog.resolve``).

Other ``x-kyma-connectors`` keys: ``subscribe: false`` (sent without subscription: GitHub ``ping``, ``meta``, events
only GitHub Apps or Marketplace listings receive -- never put on a hook, still mapped and registered), ``hooks``
(the kinds of hook that can subscribe when not every kind: ``[organization]`` for GitHub ``team``), ``scope``
(informational: a Qualtrics topic's subscription form, ``survey`` or ``brand``).

The API, by direction (every consumer goes through these, none reads the YAML):

- native -> type: :meth:`Catalog.type_for` (catalogued only) and :meth:`Catalog.resolve` (``(type, catalogued)``,
  falling back to the derived type) -- the gateway.
- type -> native: :meth:`Catalog.entry_for_type` gives the :class:`CatalogEvent` of a catalogued type (native
  ``event`` and ``action``, ``subscription``, ``subscribable``, ``hooks``), e.g. to turn a Kyma Subscription's
  ``types`` back into the native events a webhook must subscribe to: collect ``entry.event`` of each type, keep the
  ``subscribable`` ones, and pass them to :meth:`Catalog.subscriptions` (which applies ``subscription`` wildcards and
  the hook kind). A derived type of an uncatalogued event maps back to ``None``: the rule drops ``_`` and case, so
  the type does not say which native name it came from; such a type is published, but cannot be subscribed by type.
- what a connector publishes and registers: :meth:`Catalog.published` (its ``events`` plus everything sent without
  subscription), :meth:`Catalog.document_text` (the registered document), :meth:`Catalog.types`;
- what a hook subscribes to: :meth:`Catalog.subscriptions` (``hook``: ``repository`` / ``organization``), checked
  config names via :meth:`Catalog.native_events` and :meth:`Catalog.select`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import yaml

from kyma_connectors.core.errors import CoreError
from kyma_connectors.core.problems import Problem, ProblemsMixin
from specs import SPECS_DIR

EXTENSION: Final[str] = "x-kyma-connectors"
"""The message extension that maps a channel (a CloudEvents type) to the solution's own event name."""

_LOADER: Final[type[yaml.SafeLoader] | type[yaml.CSafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when present: the generated GitHub catalog (~350 KB) parses in ~0.1 s instead of ~0.7 s."""
_DUMPER: Final[type[yaml.SafeDumper] | type[yaml.CSafeDumper]] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

TYPE_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)+$")
"""A type Kyma's type cleaning leaves unchanged: lowercase alphanumerics, two or more dot-separated segments."""


class CatalogError(ProblemsMixin, CoreError, ValueError):
    """The AsyncAPI document cannot serve as an event catalog.

    ``problems`` lists every problem found (document path and what is wrong), so one run reports them all.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: " + "; ".join(str(problem) for problem in self.problems))

    @classmethod
    def at(cls, path: str, message: str) -> CatalogError:
        """One problem with the document at ``path`` as a whole (it cannot be read, or is not a catalog at all)."""
        return cls(path, [Problem("", message)])


@dataclass(frozen=True, kw_only=True)
class CatalogEvent:
    """One event of the catalog."""

    type: str
    """CloudEvents ``type`` the gateway publishes, e.g. ``issues.opened.v1``."""
    event: str
    """Solution-native event name: GitHub's ``X-GitHub-Event``, a Qualtrics topic without brand prefix."""
    action: str | None = None
    """GitHub's top-level ``action`` of the payload; ``None`` for action-less events."""
    summary: str = ""
    """Human-readable description, shown in the Application's Events entry."""
    subscribable: bool = True
    """False for events a webhook cannot subscribe to (GitHub ``ping``, App-only ``installation``)."""
    subscription: str | None = None
    """What the webhook subscribes to for this event when it is not the event name itself."""
    hooks: tuple[str, ...] | None = None
    """The kinds of hook that can subscribe (GitHub: ``repository``, ``organization``); ``None``: every kind."""


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """A solution's event catalog, in document order."""

    solution: str
    title: str
    version: str
    events: tuple[CatalogEvent, ...]
    path: Path
    narrowed: bool = False
    """True when channels of the document were left out (:meth:`select`, :meth:`published`)."""

    def type_for(self, event: str, action: str | None = None) -> str | None:
        """The CloudEvents type for a delivery, or ``None`` when the catalog does not list it.

        An exact ``(event, action)`` match wins; an action-less entry for the event matches any action, so a catalog
        may list one type per event when it does not care about actions.
        """
        return self._index.get((event, action)) or self._index.get((event, None))

    def resolve(self, event: str, action: str | None = None) -> tuple[str | None, bool]:
        """``(type, catalogued)`` for a delivery: the catalog's type, else the type the naming rule derives.

        ``catalogued`` is False for the derived fallback; the type is ``None`` only when the native names have no
        ``[a-z0-9]`` character at all.
        """
        listed = self.type_for(event, action)
        if listed is not None:
            return listed, True
        return derive_type(event, action), False

    def entry_for_type(self, event_type: str) -> CatalogEvent | None:
        """The catalog entry (native event, action, subscription) published as ``event_type``, or ``None``."""
        return self._by_type.get(event_type)

    def native_events(self, hook: str | None = None) -> list[str]:
        """Distinct solution-native event names to subscribe the webhook to, in document order.

        ``hook`` (GitHub: ``repository`` or ``organization``) leaves out events that kind of hook cannot subscribe to.
        """
        seen: dict[str, None] = {}
        for entry in self.events:
            if entry.subscribable and (hook is None or entry.hooks is None or hook in entry.hooks):
                seen.setdefault(entry.event, None)
        return list(seen)

    def subscriptions(self, native_events: list[str] | None = None, hook: str | None = None) -> list[str]:
        """What to put on the webhook for the given native events (default: every subscribable one), in that order.

        Usually the event names themselves; a catalog entry's ``subscription`` replaces its name (Qualtrics wildcards).
        ``hook`` (GitHub: ``repository``, ``organization``) leaves out what that kind of hook cannot subscribe to, so a
        connector with repositories and an organization puts organization-only events on the organization hook only.
        """
        possible = self.native_events(hook)
        names = possible if native_events is None else [name for name in native_events if name in possible]
        by_event = {entry.event: entry.subscription for entry in self.events if entry.subscription}
        return list(dict.fromkeys(by_event.get(name, name) for name in names))

    def published(self, native_events: list[str] | None = None) -> Catalog:
        """What a connector subscribed to ``native_events`` (default: all) can publish: those events, plus every
        event sent without subscription (``subscribable: false``: GitHub ``ping`` on hook creation, ``meta`` on
        deletion, App-only events when a GitHub App delivers to the gateway).

        This is the list a connector registers in its Application and reports as its event types.
        """
        if native_events is None:
            return self
        wanted = set(native_events)
        return self._narrowed(entry for entry in self.events if entry.event in wanted or not entry.subscribable)

    def document_text(self) -> str:
        """The catalog's AsyncAPI document as text, narrowed to this catalog's channels when it was narrowed.

        What the registrar registers: the shipped file unchanged when nothing was left out (no re-dump, so a
        registration's content hash stays the file's), else the document with only the remaining channels.
        """
        text = self.path.read_text(encoding="utf-8")
        if not self.narrowed:
            return text
        document = read_document(self.path)
        channels = document.get("channels") if isinstance(document, dict) else None
        if not isinstance(channels, dict) or set(channels) == set(self.types()):
            return text
        kept = set(self.types())
        narrowed = {**document, "channels": {name: value for name, value in channels.items() if name in kept}}
        return yaml.dump(narrowed, Dumper=_DUMPER, sort_keys=False, width=120, allow_unicode=True)

    def types(self) -> list[str]:
        """Every CloudEvents type of the catalog, in document order."""
        return [entry.type for entry in self.events]

    def select(self, native_events: list[str]) -> Catalog:
        """The catalog narrowed to the given native event names (a connector's ``events`` setting).

        Raises :class:`CatalogError` naming every event the catalog does not know.
        """
        known = {entry.event for entry in self.events}
        unknown = [name for name in native_events if name not in known]
        if unknown:
            raise CatalogError(
                str(self.path), [Problem("", f"unknown event {name!r} (known: {', '.join(sorted(known))})")
                                 for name in unknown]
            )
        wanted = set(native_events)
        return self._narrowed(entry for entry in self.events if entry.event in wanted)

    def _narrowed(self, events: Iterable[CatalogEvent]) -> Catalog:
        return Catalog(solution=self.solution, title=self.title, version=self.version, events=tuple(events),
                       path=self.path, narrowed=True)

    @cached_property
    def _index(self) -> dict[tuple[str, str | None], str]:
        return {(entry.event, entry.action): entry.type for entry in self.events}

    @cached_property
    def _by_type(self) -> dict[str, CatalogEvent]:
        return {entry.type: entry for entry in self.events}


def derive_type(event: str, action: str | None = None, version: str = "v1") -> str | None:
    """The CloudEvents type the naming rule gives a native event and action (module docstring), or ``None``.

    ``None`` when nothing of the names survives (no ``[a-z0-9]`` at all): there is no honest type to derive.
    """
    names = [event, *([action] if action else [])]
    segments = [_clean(part) for name in names for part in name.split(".")]
    kept = [segment for segment in segments if segment]
    if not kept:
        return None
    return ".".join([*kept, version])


def _clean(part: str) -> str:
    return _UNCLEAN.sub("", part.lower())


_UNCLEAN: Final[re.Pattern[str]] = re.compile(r"[^a-z0-9]")


def catalog_path(solution: str) -> Path:
    """The shipped AsyncAPI document of a solution."""
    return SPECS_DIR / solution / "asyncapi.yaml"


def load_catalog(solution: str) -> Catalog:
    """Load the shipped catalog of ``solution`` (``github``, ``qualtrics``, ``generic``, ...)."""
    path = catalog_path(solution)
    if not path.is_file():
        shipped = sorted(p.parent.name for p in SPECS_DIR.glob("*/asyncapi.yaml"))
        raise CatalogError.at(str(path), f"no catalog for solution {solution!r} (shipped: {', '.join(shipped)})")
    return load_catalog_file(path, solution=solution)


def load_catalog_file(path: str | Path, *, solution: str | None = None) -> Catalog:
    """Load and validate an AsyncAPI document as a catalog; every problem is reported at once."""
    path = Path(path)
    return parse_catalog(read_document(path), source=path, solution=solution or path.parent.name)


def read_document(path: Path) -> Any:
    """An AsyncAPI document's parsed YAML (or JSON); :class:`CatalogError` when it cannot be read or parsed."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError.at(str(path), f"cannot read: {exc}") from exc


def parse_catalog(document: Any, *, source: Path, solution: str) -> Catalog:
    """Validate a parsed AsyncAPI document and turn it into a :class:`Catalog`."""
    problems: list[Problem] = []
    if not isinstance(document, dict):
        raise CatalogError.at(str(source), "not a YAML mapping")
    if not str(document.get("asyncapi", "")).startswith("2."):
        problems.append(Problem("asyncapi", f"expected a 2.x version, got {document.get('asyncapi')!r}"))
    raw_info = document.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    channels = document.get("channels")
    if not isinstance(channels, dict) or not channels:
        problems.append(Problem("channels", "expected at least one channel"))
        channels = {}

    events: list[CatalogEvent] = []
    seen_keys: dict[tuple[str, str | None], str] = {}
    for name, channel in channels.items():
        where = f"channels.{name}"
        entry = _parse_channel(str(name), channel, where, problems)
        if entry is None:
            continue
        key = (entry.event, entry.action)
        if key in seen_keys:
            problems.append(Problem(where, f"event {entry.event!r} action {entry.action!r} already mapped by "
                                           f"{seen_keys[key]}"))
            continue
        seen_keys[key] = str(name)
        events.append(entry)

    if problems:
        raise CatalogError(str(source), problems)
    return Catalog(
        solution=solution,
        title=str(info.get("title", solution)),
        version=str(info.get("version", "v1")),
        events=tuple(events),
        path=source,
    )


def _parse_channel(name: str, channel: Any, where: str, problems: list[Problem]) -> CatalogEvent | None:
    if not TYPE_PATTERN.match(name):
        problems.append(Problem(where, "channel name must be a CloudEvents type of [a-z0-9.] with two or more "
                                       "segments"))
        return None
    message = (channel or {}).get("subscribe", {}).get("message") if isinstance(channel, dict) else None
    if not isinstance(message, dict):
        problems.append(Problem(f"{where}.subscribe.message", "expected a message"))
        return None
    ext = message.get(EXTENSION)
    if not isinstance(ext, dict) or not isinstance(ext.get("event"), str) or not ext["event"]:
        problems.append(Problem(f"{where}.subscribe.message.{EXTENSION}.event", "expected the solution's event name"))
        return None
    action = ext.get("action")
    if action is not None and not isinstance(action, str):
        problems.append(Problem(f"{where}.subscribe.message.{EXTENSION}.action", "expected a string"))
        return None
    hooks = ext.get("hooks")
    if hooks is not None and (not isinstance(hooks, list) or not all(isinstance(h, str) and h for h in hooks)):
        problems.append(Problem(f"{where}.subscribe.message.{EXTENSION}.hooks", "expected a list of hook kinds"))
        return None
    return CatalogEvent(
        type=name,
        event=ext["event"],
        action=action,
        summary=str(message.get("summary") or message.get("title") or ""),
        subscribable=bool(ext.get("subscribe", True)) and hooks != [],
        subscription=str(ext["subscription"]) if ext.get("subscription") else None,
        hooks=tuple(hooks) if hooks is not None else None,
    )


__all__ = [
    "EXTENSION",
    "SPECS_DIR",
    "TYPE_PATTERN",
    "Catalog",
    "CatalogError",
    "CatalogEvent",
    "catalog_path",
    "derive_type",
    "load_catalog",
    "load_catalog_file",
    "parse_catalog",
    "read_document",
]
