"""What is in the API server: every object of every listable type, found through discovery.

Used to prove `pulumi destroy` leaves nothing behind: a snapshot before the first `up` and one after `destroy` must
hold the same objects. Identity is (group/version, kind, namespace, name): updates don't count, creations and
deletions do. Events and Leases are left out: the API server writes them on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from devtools.cluster.kubeapi import KubeApi

IGNORED_RESOURCES = frozenset({"events", "leases"})


@dataclass(frozen=True, order=True)
class ObjectKey:
    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}.{self.api_version} {where}{self.name}"


def _group_versions(api: KubeApi) -> list[str]:
    found = ["v1"]
    groups = api.get("/apis") or {}
    for group in groups.get("groups", []):
        preferred = group.get("preferredVersion", {}).get("groupVersion")
        if preferred:
            found.append(preferred)
    return found


def _list_paths(api: KubeApi, group_version: str) -> list[tuple[str, str]]:
    """(list path, kind) for every top-level resource of a group version that supports `list`."""
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    doc = api.get(base) or {}
    return [(f"{base}/{r['name']}", r["kind"]) for r in doc.get("resources", [])
            if "/" not in r["name"] and "list" in r.get("verbs", []) and r["name"] not in IGNORED_RESOURCES]


def snapshot(api: KubeApi) -> set[ObjectKey]:
    """Every object the API server holds (all namespaces), by identity."""
    keys: set[ObjectKey] = set()
    for group_version in _group_versions(api):
        for path, kind in _list_paths(api, group_version):
            for item in api.items(path):
                meta = item.get("metadata", {})
                keys.add(ObjectKey(group_version, kind, meta.get("namespace", ""), meta["name"]))
    return keys


def path_of(api_version: str, plural: str, name: str, namespace: str | None = None) -> str:
    """API path of one object, e.g. path_of("apps/v1", "deployments", "gw", "ns")."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{where}/{plural}/{name}"
