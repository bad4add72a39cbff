"""The policy pack's rules as pure functions: ``rule(resource_type, props) -> list of violation messages``.

Why pure functions: the Pulumi policy SDK starts a gRPC server as soon as a ``PolicyPack`` is built, so the rules live
here, free of it, and ``kyma_connectors/policy/__main__.py`` only wraps them. Tests call them on the very property
maps the program
registers (camelCase Kubernetes inputs), and on hand-made violations.

Self-contained on purpose: a published pack is copied without the rest of the repository, so nothing here imports
the program. Property maps may be the policy SDK's read-only proxies (``collections.abc.Mapping``/``Sequence``, not
``dict``/``list``); reading an unknown preview value raises the SDK's ``UnknownValueError``, which it reports itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

Rule = Callable[[str, Mapping[str, Any]], list[str]]

WEBHOOK_PATH: Final[str] = "/webhook"
"""The only path an APIRule may expose without authentication: the gateway verifies signatures itself."""

POD_TEMPLATE_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
"""Where each workload kind keeps its pod spec."""

SECRET_NAME: Final[re.Pattern[str]] = re.compile(
    r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|CLIENT_?SECRET)", re.IGNORECASE)
"""Names that announce a secret value (env var names, ConfigMap keys)."""

NOT_A_SECRET: Final[re.Pattern[str]] = re.compile(r"(_NAME|_FILE|_PATH|_DIR|_URL|_HEADER|_KEY_ID|_REF)$",
                                                   re.IGNORECASE)
"""Suffixes that make such a name a *reference* to a secret (``TOKEN_FILE``, ``SECRET_NAME``), which is fine."""

SECRET_VALUE: Final[re.Pattern[str]] = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----"          # PEM private keys (GitHub App keys, TLS keys)
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}"                # GitHub tokens (classic PAT, OAuth, user-to-server, refresh)
    r"|\bgithub_pat_[A-Za-z0-9_]{22,}"              # GitHub fine-grained PATs
    r"|\bAKIA[0-9A-Z]{16}\b"                        # AWS access key ids
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,})"              # Slack tokens
)
"""Values that are secrets whatever they are called (documented token formats)."""

ALLOWED_SECCOMP: Final[tuple[str, ...]] = ("RuntimeDefault", "Localhost")
WRITE_VERBS: Final[frozenset[str]] = frozenset({"create", "update", "patch", "delete", "deletecollection", "*"})


@dataclass(frozen=True)
class RuleInfo:
    """A rule and how the pack presents it."""

    name: str
    description: str
    check: Rule


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _items(value: Any) -> list[Any]:
    """A Sequence as a list; anything else (None, a scalar, a string) as empty."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a workload, or None for other kinds."""
    path = POD_TEMPLATE_PATHS.get(resource_type)
    spec = _get(props, *path) if path else None
    return spec if isinstance(spec, Mapping) else None


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers"):
        for container in _items(spec.get(field)):
            if isinstance(container, Mapping):
                yield f"{field}[{container.get('name', '?')}]", container


def _secret_named(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_A_SECRET.search(name)


def no_plain_secret_env(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Secrets reach containers through ``valueFrom.secretKeyRef``, never as a plain ``value`` (visible in the spec)."""
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    problems = []
    for where, container in _containers(spec):
        for env in _items(container.get("env")):
            name, value = str(_get(env, "name") or ""), _get(env, "value")
            if not isinstance(value, str) or not value:
                continue
            if _secret_named(name):
                problems.append(f"{where}.env[{name}]: a secret-looking variable has a plain value; "
                                "use valueFrom.secretKeyRef")
            elif SECRET_VALUE.search(value):
                problems.append(f"{where}.env[{name}]: the value looks like a credential; use valueFrom.secretKeyRef")
    return problems


def no_secrets_in_config_maps(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """ConfigMaps are readable by anyone who may read the namespace's configuration: no credentials in them."""
    if resource_type != "kubernetes:core/v1:ConfigMap":
        return []
    problems = []
    for field in ("data", "binaryData"):
        data = props.get(field)
        if not isinstance(data, Mapping):
            continue
        for key in data:
            value = data[key]
            if _secret_named(key.rsplit(".", 1)[0]):
                problems.append(f"{field}[{key}]: a secret-looking key; store it in a Secret")
            elif isinstance(value, str) and SECRET_VALUE.search(value):
                problems.append(f"{field}[{key}]: contains a credential; store it in a Secret")
    return problems


def pod_security(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The restricted Pod Security Standard plus a read-only root filesystem, for every container."""
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    pod = _get(spec, "securityContext") or {}
    problems = []
    for where, container in _containers(spec):
        ctx = _get(container, "securityContext") or {}

        def setting(key: str, ctx: Any = ctx) -> Any:
            own = _get(ctx, key)
            return own if own is not None else _get(pod, key)

        if setting("runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot must be true")
        if _get(ctx, "allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if _get(ctx, "privileged") is True:
            problems.append(f"{where}: privileged is not allowed")
        if _get(ctx, "readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem must be true")
        if "ALL" not in _items(_get(ctx, "capabilities", "drop")):
            problems.append(f"{where}: capabilities.drop must include ALL")
        if _get(setting("seccompProfile"), "type") not in ALLOWED_SECCOMP:
            problems.append(f"{where}: seccompProfile.type must be RuntimeDefault or Localhost")
    if _get(spec, "hostNetwork") is True or _get(spec, "hostPID") is True or _get(spec, "hostIPC") is True:
        problems.append("pod: host namespaces (hostNetwork/hostPID/hostIPC) are not allowed")
    return problems


def container_resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Requests make scheduling honest; a memory limit keeps one leaking pod from starving the node."""
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    problems = []
    for where, container in _containers(spec):
        resources = _get(container, "resources") or {}
        if not isinstance(_get(resources, "requests"), Mapping) or not _get(resources, "requests", "memory"):
            problems.append(f"{where}: resources.requests.memory must be set")
        if not _get(resources, "limits", "memory"):
            problems.append(f"{where}: resources.limits.memory must be set")
    return problems


def apirule_no_auth_only_on_webhook(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Unauthenticated exposure is allowed for ``POST /webhook`` only; everything else needs jwt or extAuth."""
    if not resource_type.startswith("kubernetes:gateway.kyma-project.io/") or not resource_type.endswith(":APIRule"):
        return []
    problems = []
    for i, rule in enumerate(_items(_get(props, "spec", "rules"))):
        path = _get(rule, "path")
        methods = sorted(str(m) for m in _items(_get(rule, "methods")))
        handlers = {str(_get(s, "handler")) for s in _items(_get(rule, "accessStrategies"))}  # v1beta1
        open_rule = _get(rule, "noAuth") is True or bool(handlers & {"no_auth", "allow", "noop"})
        if open_rule and (path != WEBHOOK_PATH or methods != ["POST"]):
            problems.append(f"spec.rules[{i}]: unauthenticated access to {methods} {path!r}; "
                            f"only POST {WEBHOOK_PATH} may use noAuth")
    return problems


def apirule_v2(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """APIRule v1beta1 can no longer be created or edited in Kyma and stops being reconciled; emit v2."""
    if resource_type.startswith("kubernetes:gateway.kyma-project.io/") and resource_type.endswith(":APIRule") \
            and not resource_type.startswith("kubernetes:gateway.kyma-project.io/v2:"):
        return [f"{resource_type}: use gateway.kyma-project.io/v2"]
    return []


def rbac_least_privilege(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No wildcards; cluster-wide write access only to named objects (the registrar patches one Application)."""
    if resource_type not in ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                             "kubernetes:rbac.authorization.k8s.io/v1:Role"):
        return []
    problems = []
    for i, rule in enumerate(_items(props.get("rules"))):
        for field in ("apiGroups", "resources", "verbs"):
            if "*" in _items(_get(rule, field)):
                problems.append(f"rules[{i}].{field}: wildcards are not allowed")
        writes = WRITE_VERBS & {str(v) for v in _items(_get(rule, "verbs"))}
        if resource_type.endswith(":ClusterRole") and writes and not _items(_get(rule, "resourceNames")):
            problems.append(f"rules[{i}]: cluster-wide {sorted(writes)} needs resourceNames")
    return problems


RULES: Final[tuple[RuleInfo, ...]] = (
    RuleInfo("no-plain-secret-env", "Secrets reach containers only through secretKeyRef.", no_plain_secret_env),
    RuleInfo("no-secrets-in-configmaps", "ConfigMaps hold no credentials.", no_secrets_in_config_maps),
    RuleInfo("pod-security-restricted", "Workloads meet the restricted pod security profile and a read-only "
             "root filesystem.", pod_security),
    RuleInfo("container-resources", "Containers declare requests and a memory limit.", container_resources),
    RuleInfo("apirule-noauth-only-webhook", "APIRules expose only POST /webhook without authentication.",
             apirule_no_auth_only_on_webhook),
    RuleInfo("apirule-v2", "APIRules use gateway.kyma-project.io/v2.", apirule_v2),
    RuleInfo("rbac-least-privilege", "Roles use no wildcards; cluster-wide writes name their objects.",
             rbac_least_privilege),
)


def violations(resource_type: str, props: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every rule's violations for one resource, keyed by rule name (rules without violations left out)."""
    found = {info.name: info.check(resource_type, props) for info in RULES}
    return {name: problems for name, problems in found.items() if problems}
