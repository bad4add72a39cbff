"""RegistrationJob: the one-shot Kubernetes Job that registers a solution's APIs and event catalog with Kyma.

Why a Job and not Pulumi resources: registration must validate the specs and merge ``spec.services`` under its own
server-side-apply field manager (today's Kyma), or talk to the Kyma 1.x Application Registry from inside the cluster.
That logic is the registrar service (``kyma_connectors/registrar/``); this component only runs it, with least privilege.

Re-run semantics: the Job's Kubernetes name carries a short hash of everything the run depends on (manifest, spec
documents, image, backend, registry URL). A spec change yields a new name, so Pulumi replaces the Job (a new run); an
unchanged spec keeps the name and Pulumi leaves the finished Job alone. pulumi-kubernetes waits for a Job to
complete, so a failed registration fails ``pulumi up`` where the operator sees it.

No ``ttlSecondsAfterFinished`` by default, on purpose: if Kubernetes garbage-collects the finished Job, the next
``pulumi refresh`` finds it gone, drops it from state, and the following ``pulumi up`` re-creates it -- a needless
(if harmless, the registrar being idempotent) re-run each time. The finished Job is also the record of the last
registration (``kubectl logs job/<name>``). Set ``ttl_seconds_after_finished`` only for clusters without refresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import _naming
from components import _pod_security as sec
from components._options import child_options
from components._pull_secrets import pull_secrets
from kyma_connectors.core import contract
from kyma_connectors.core.manifest import FILE_NAME, Manifest

RESOURCE_TYPE: Final[str] = _naming.token("RegistrationJob")

Backend = Literal["application-cr", "application-registry"]
BACKENDS: Final[tuple[str, ...]] = ("application-cr", "application-registry")

SPECS_DIR: Final[str] = contract.REGISTRAR_SPECS_MOUNT
"""Where the specs ConfigMap is mounted; the registrar reads it from ``REGISTRAR_SPECS_DIR``."""

CREDENTIALS_DIR: Final[str] = contract.REGISTRAR_CREDENTIALS_MOUNT
"""application-registry only: each credential Secret is mounted at ``<dir>/<secretName>/``
(``REGISTRAR_CREDENTIALS_DIR``), because the Kyma 1.x registry takes credential values inline. Mounted Secrets must
live in the Job's namespace."""

PERMANENT_EXIT_CODE: Final[int] = contract.EXIT_PERMANENT
"""The registrar's exit code for a permanent failure (bad spec, 4xx); the pod failure policy fails the Job at once
instead of burning ``backoffLimit`` retries that cannot succeed. Other non-zero codes are transient and retried."""

HASH_LENGTH: Final[int] = 10
"""Hex digits of the input hash in the Job name: 40 bits, collision-free for any realistic number of spec revisions."""

CONFIG_MAP_LIMIT: Final[int] = 1_000_000
"""Bytes of spec text per ConfigMap; Kubernetes caps a ConfigMap at 1 MiB including metadata, so we stay below."""

_DUMPER: Final[type[yaml.SafeDumper] | type[yaml.CSafeDumper]] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_UNFOLDED: Final[int] = 2**31 - 1
_KEY: Final[re.Pattern[str]] = re.compile(r"^[-._a-zA-Z0-9]+$")
_MAX_NAME: Final[int] = 63  # the Job controller puts the Job name into the pods' `job-name` label


@dataclass(frozen=True, kw_only=True)
class RegistrationJobArgs:
    """Inputs of :class:`RegistrationJob`. Plain values: the Job name is a hash of them, computed at preview time."""

    application: str
    """Name of the Kyma Application to register into (cluster-scoped); must equal ``manifest.application``."""
    namespace: str
    """Namespace of the Job, its ConfigMap and ServiceAccount (the connector's namespace)."""
    manifest: Manifest
    """What to register; written as ``registration.yaml`` beside the specs. ``specsConfigMap`` is filled in here."""
    specs: Mapping[str, str] = field(default_factory=dict)
    """Spec documents by file name (the names the manifest refers to), e.g. ``{"openapi.yaml": "..."}``."""
    image: str
    """Registrar image reference; pin a digest in production so the hash (and a re-run) follows image changes."""
    image_pull_secrets: tuple[str, ...] = ()
    """Names of ``kubernetes.io/dockerconfigjson`` Secrets in the namespace, for a private registry."""
    backend: Backend = "application-cr"
    """``application-cr`` (today's modular Kyma) or ``application-registry`` (Kyma 1.x, the legacy flag)."""
    registry_url: str | None = None
    """Application Registry base URL; required for, and only used by, the ``application-registry`` backend."""
    backoff_limit: int = 4
    """Retries for transient failures (API server or registry not reachable yet)."""
    active_deadline_seconds: int = 600
    """Upper bound for the whole run including retries, so a stuck registration fails ``pulumi up`` visibly."""
    ttl_seconds_after_finished: int | None = None
    """Leave unset unless you never run ``pulumi refresh`` (see the module docstring)."""
    webhook_host: str | None = None
    """The webhook URL's host; with ``istio_gateway`` (application-cr only) the Job checks, before any write, that the
    Gateway serves it (kyma_connectors/registrar/webhook_host.py), so a wrong ``clusterDomain`` fails ``pulumi up``
    before the webhook is registered."""
    istio_gateway: str | None = None
    """``namespace/name`` of the APIRule's Istio Gateway; the Job gets ``get`` on exactly that Gateway."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("RegistrationJobArgs: " + "; ".join(problems))


def _problems(args: RegistrationJobArgs) -> list[str]:
    """Every problem with the args at once, each naming its field."""
    problems: list[str] = []
    if args.application != args.manifest.application:
        problems.append(f"application: {args.application!r} differs from manifest.application "
                        f"{args.manifest.application!r}")
    if args.backend not in BACKENDS:
        problems.append(f"backend: {args.backend!r} is not one of {', '.join(BACKENDS)}")
    if args.backend == "application-registry" and not args.registry_url:
        problems.append("registry_url: required for the application-registry backend")
    if not args.image:
        problems.append("image: expected an image reference")
    for file_name in args.specs:
        if file_name == FILE_NAME or not _KEY.match(file_name):
            problems.append(f"specs[{file_name!r}]: not a usable ConfigMap key (or reserved for the manifest)")
    for service in args.manifest.services:
        problems.extend(f"manifest.services[{service.name}]: spec file {spec!r} is not in specs"
                        for spec in service.spec_files() if spec not in args.specs)
    size = sum(len(text.encode()) for text in args.specs.values())
    if size > CONFIG_MAP_LIMIT:
        problems.append(f"specs: {size} bytes exceed the ConfigMap budget of {CONFIG_MAP_LIMIT} bytes")
    return problems


def manifest_yaml(document: Mapping[str, Any]) -> str:
    """``registration.yaml``'s text: safe YAML, keys in manifest order, long lines never folded.

    Unfolded because then libyaml's emitter (used when PyYAML has it: six times faster than the pure-Python one,
    whose run was a sixth of a RegistrationJob's cost in bench/bench_program.py) writes exactly the same text as the
    pure-Python one -- folding is where the two differ -- so the ConfigMap does not depend on how PyYAML was built.
    """
    return yaml.dump(dict(document), Dumper=_DUMPER, sort_keys=False, width=_UNFOLDED, allow_unicode=False)


def config_map_data(args: RegistrationJobArgs, config_map_name: str) -> dict[str, str]:
    """The specs ConfigMap's data: every spec document plus ``registration.yaml`` pointing back at the ConfigMap."""
    manifest = dataclasses.replace(args.manifest, specs_namespace=args.namespace, specs_config_map=config_map_name)
    manifest_text = manifest_yaml(manifest.to_dict())
    return {**dict(sorted(args.specs.items())), FILE_NAME: manifest_text}


def inputs_hash(args: RegistrationJobArgs) -> str:
    """Short, stable digest of everything a registration run depends on; unchanged inputs give the same digest.

    Every field of the args counts (a new field is covered without touching this function), so any change that
    alters the Job also renames it: Kubernetes refuses most Job spec updates, a new Job is the only way.
    """
    document: dict[str, Any] = {
        field.name: getattr(args, field.name) for field in dataclasses.fields(args)
        if field.name not in ("manifest", "specs")
    }
    document["manifest"] = args.manifest.to_dict()
    document["specs"] = dict(sorted(args.specs.items()))
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def job_name(prefix: str, args: RegistrationJobArgs) -> str:
    """``<prefix>-<hash>``, the prefix shortened if needed to fit the 63-character label limit."""
    digest = inputs_hash(args)
    return f"{prefix[: _MAX_NAME - HASH_LENGTH - 1].rstrip('-')}-{digest}"


def cluster_role_name(application: str) -> str:
    """Cluster-scoped RBAC is named after the Application, itself unique in the cluster, so stacks never collide."""
    return f"kyma-connectors:registrar:{application}"


def credential_secrets(args: RegistrationJobArgs) -> list[str]:
    """Secrets the legacy backend reads values from (credentials and request parameters), sorted, each once.

    Only the application-registry backend needs values; with application-cr the Application merely names the Secrets
    in ``kyma-system`` and the Job never sees them. Rotating a value does not change the Job name (a digest of a
    secret must not end up in a name); re-run with ``pulumi up --replace <job URN>`` after a rotation.
    """
    if args.backend != "application-registry":
        return []
    names = set()
    for service in args.manifest.services:
        if service.api and service.api.credentials:
            names.add(service.api.credentials.secret_name)
        if service.api and service.api.request_parameters_secret_name:
            names.add(service.api.request_parameters_secret_name)
    return sorted(names)


def registrar_env(args: RegistrationJobArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """The registrar's environment contract (docs/registrar.md): backend, application, specs directory, registry URL."""
    env = {
        contract.REGISTRAR_BACKEND: args.backend,
        contract.REGISTRAR_APPLICATION: args.application,
        contract.REGISTRAR_SPECS_DIR: SPECS_DIR,
    }
    if args.registry_url:
        env[contract.REGISTRAR_REGISTRY_URL] = args.registry_url
    if credential_secrets(args):
        env[contract.REGISTRAR_CREDENTIALS_DIR] = CREDENTIALS_DIR
    if _checks_webhook_host(args):
        env[contract.REGISTRAR_WEBHOOK_HOST] = str(args.webhook_host)
        env[contract.REGISTRAR_ISTIO_GATEWAY] = str(args.istio_gateway)
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in env.items()]


def _checks_webhook_host(args: RegistrationJobArgs) -> bool:
    return args.backend == "application-cr" and bool(args.webhook_host) and bool(args.istio_gateway)


class RegistrationJob(pulumi.ComponentResource):
    """ConfigMap with the specs and manifest, ServiceAccount, RBAC limited to one Application, and the Job."""

    job_name: pulumi.Output[str]
    """Kubernetes name of the current registration Job (changes exactly when its inputs change)."""
    config_map_name: pulumi.Output[str]
    """Kubernetes name of the ConfigMap holding the specs and ``registration.yaml``."""

    def __init__(self, name: str, args: RegistrationJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RESOURCE_TYPE, name, None, opts)
        child = child_options(self, opts)
        labels = _naming.labels(name, "registrar")
        metadata = k8s.meta.v1.ObjectMetaArgs  # local alias: every child has the same shape of metadata

        specs_name = f"{name}-specs"
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-specs",
            metadata=metadata(name=specs_name, namespace=args.namespace, labels=labels),
            data=config_map_data(args, specs_name),
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=metadata(name=name, namespace=args.namespace, labels=labels),
            # The legacy backend talks HTTP to the registry only: it gets no Kubernetes credentials at all.
            automount_service_account_token=args.backend == "application-cr",
            opts=child,
        )
        job_deps: list[pulumi.Resource] = []
        if args.backend == "application-cr":
            job_deps.append(self._rbac(name, args, account, labels, child))
        if _checks_webhook_host(args):
            job_deps.append(self._gateway_reader(name, args, account, labels, child))

        self.config_map_name = config_map.metadata.apply(lambda m: str(m["name"]))
        job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=metadata(name=job_name(name, args), namespace=args.namespace, labels=labels),
            spec=self._job_spec(args, labels, account, self.config_map_name),
            # The pod needs its permissions before it starts, or the first attempt fails with 403. Delete before
            # replace: a Job whose pod template changes with the program (same inputs, same name) cannot be created
            # beside the old one; the old Job has finished, nothing is lost by removing it first.
            opts=child_options(self, opts, *job_deps, delete_before_replace=True),
        )
        self.job_name = job.metadata.apply(lambda m: str(m["name"]))
        self.register_outputs({"job_name": self.job_name, "config_map_name": self.config_map_name})

    @staticmethod
    def _rbac(name: str, args: RegistrationJobArgs, account: k8s.core.v1.ServiceAccount, labels: dict[str, str],
              child: pulumi.ResourceOptions) -> k8s.rbac.v1.ClusterRoleBinding:
        """get + patch (server-side apply) on this one Application; Applications are cluster-scoped."""
        role_name = cluster_role_name(args.application)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, labels=labels),
            rules=[k8s.rbac.v1.PolicyRuleArgs(
                api_groups=["applicationconnector.kyma-project.io"],
                resources=["applications"],
                resource_names=[args.application],
                verbs=["get", "patch"],
            )],
            opts=child,
        )
        return k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=role_name, labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role.metadata.apply(lambda m: m["name"])
            ),
            subjects=[k8s.rbac.v1.SubjectArgs(
                kind="ServiceAccount", name=account.metadata.apply(lambda m: m["name"]), namespace=args.namespace
            )],
            opts=child,
        )

    @staticmethod
    def _gateway_reader(name: str, args: RegistrationJobArgs, account: k8s.core.v1.ServiceAccount,
                        labels: dict[str, str], child: pulumi.ResourceOptions) -> k8s.rbac.v1.RoleBinding:
        """get on the one Istio Gateway the APIRule binds to, in its namespace (both versions the check tries)."""
        namespace, gateway = str(args.istio_gateway).split("/", 1)
        meta = k8s.meta.v1.ObjectMetaArgs(name=f"kyma-connectors-registrar-{args.application}", namespace=namespace,
                                          labels=labels)
        role = k8s.rbac.v1.Role(
            f"{name}-gateway-role",
            metadata=meta,
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=["networking.istio.io"], resources=["gateways"],
                                              resource_names=[gateway], verbs=["get"])],
            opts=child,
        )
        return k8s.rbac.v1.RoleBinding(
            f"{name}-gateway-binding",
            metadata=meta,
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                             name=role.metadata.apply(lambda m: m["name"])),
            subjects=[k8s.rbac.v1.SubjectArgs(
                kind="ServiceAccount", name=account.metadata.apply(lambda m: m["name"]), namespace=args.namespace
            )],
            opts=child,
        )

    @staticmethod
    def _job_spec(args: RegistrationJobArgs, labels: dict[str, str], account: k8s.core.v1.ServiceAccount,
                  config_map_name: pulumi.Output[str]) -> k8s.batch.v1.JobSpecArgs:
        container = k8s.core.v1.ContainerArgs(
            name="registrar",
            image=args.image,
            env=registrar_env(args),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="specs", mount_path=SPECS_DIR, read_only=True),
                sec.tmp_mount(),
                *(k8s.core.v1.VolumeMountArgs(name=f"credentials-{i}", mount_path=f"{CREDENTIALS_DIR}/{secret}",
                                              read_only=True)
                  for i, secret in enumerate(credential_secrets(args))),
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "128Mi"}
            ),
            security_context=sec.container_security_context(),
        )
        return k8s.batch.v1.JobSpecArgs(
            backoff_limit=args.backoff_limit,
            active_deadline_seconds=args.active_deadline_seconds,
            ttl_seconds_after_finished=args.ttl_seconds_after_finished,
            # A permanent failure (bad spec, 4xx) fails the Job at once; retrying cannot fix it.
            pod_failure_policy=k8s.batch.v1.PodFailurePolicyArgs(rules=[k8s.batch.v1.PodFailurePolicyRuleArgs(
                action="FailJob",
                on_exit_codes=k8s.batch.v1.PodFailurePolicyOnExitCodesRequirementArgs(
                    container_name="registrar", operator="In", values=[PERMANENT_EXIT_CODE]
                ),
            )]),
            template=k8s.core.v1.PodTemplateSpecArgs(
                # A one-shot pod must not wait for an Istio sidecar that never exits (label form, Istio >= 1.10).
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, "sidecar.istio.io/inject": "false"}),
                spec=k8s.core.v1.PodSpecArgs(
                    image_pull_secrets=pull_secrets(args.image_pull_secrets),
                    restart_policy="Never",  # required by podFailurePolicy; retries are new pods
                    service_account_name=account.metadata.apply(lambda m: m["name"]),
                    automount_service_account_token=args.backend == "application-cr",
                    security_context=sec.pod_security_context(),
                    containers=[container],
                    volumes=[
                        k8s.core.v1.VolumeArgs(
                            name="specs", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map_name)
                        ),
                        sec.tmp_volume(),
                        *(k8s.core.v1.VolumeArgs(name=f"credentials-{i}", secret=k8s.core.v1.SecretVolumeSourceArgs(
                            secret_name=secret, default_mode=0o440))
                          for i, secret in enumerate(credential_secrets(args))),
                    ],
                ),
            ),
        )
