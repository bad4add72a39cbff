"""Benchmark of the registration job: 100 services, first run vs. rerun, for both backends.

Not a test: it prints figures (bench/README.md records them with this command)::

    .venv/bin/python bench/bench_registrar.py [--services 100] [--backend both|application-registry|application-cr]

Each run is the real ``kyma_connectors.registrar.run.run`` in-process, with the environment of a Job. The input is 100
services -- half APIs with the same OpenAPI document (a quarter of all with Basic credentials from mounted
Secrets), half event services with the shipped GitHub AsyncAPI catalog -- so validation, fingerprinting and the
backend's diffing all scale with the count. Three runs per backend: the first registration, a rerun with the same
input (must be zero writes), and a rerun after one service's description changed (must be one write).

- ``application-registry`` runs against the loopback metadata API double (devtools/doubles/registry.py), which validates
  every request against the published contract; request counts are taken from the server side.
- ``application-cr`` runs against the local kube-apiserver with the real Application CRD: ``--kubeconfig`` (or
  ``KUBECONFIG``), else the test control plane is started or reused (devtools/cluster/controlplane.py, needs the
  toolchain).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devtools.doubles.registry import RegistryDouble  # noqa: E402 - after the path set-up
from kyma_connectors.core import manifest as mf  # noqa: E402
from kyma_connectors.registrar.fingerprint import sealed  # noqa: E402
from kyma_connectors.registrar.run import run  # noqa: E402

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Bench API", "version": "1.0.0"},
    "paths": {f"/items/{{id}}/part{i}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Item"}}}}}}} for i in range(20)},
    "components": {"schemas": {"Item": {"type": "object", "properties": {"id": {"type": "string"}}}}},
}


@dataclass(frozen=True)
class Figures:
    label: str
    seconds: float
    requests: int
    writes: int
    result: str
    server_seconds: float | None = None


def _services(application: str, count: int, description: str = "Benchmark service.") -> list[mf.ServiceDefinition]:
    services = []
    for i in range(count):
        name = f"svc-{i:03d}"
        if i % 2 == 0:
            creds = mf.Credentials(type="Basic", secret_name="bench-basic") if i % 4 == 0 else None  # noqa: S106
            services.append(mf.ServiceDefinition(
                id=mf.service_id(application, name), name=name, display_name=f"Service {i:03d}",
                description=description, provider_display_name="Bench",
                api=mf.ApiDefinition(target_url=f"https://api{i}.example.com", spec="openapi.yaml", credentials=creds)))
        else:
            services.append(mf.ServiceDefinition(
                id=mf.service_id(application, name), name=name, display_name=f"Service {i:03d}",
                description=description, provider_display_name="Bench",
                events=mf.EventsDefinition(spec="asyncapi.yaml")))
    return services


def _write_specs(directory: Path, application: str, services: list[mf.ServiceDefinition]) -> None:
    manifest = mf.Manifest(application=application, solution="github", services=tuple(services),
                        specs_namespace="connectors", specs_config_map=f"{application}-specs")
    (directory / "registration.yaml").write_text(yaml.safe_dump(manifest.to_dict(), sort_keys=False))


def _prepare(root: Path, application: str, count: int) -> tuple[Path, Path]:
    specs = root / "specs"
    specs.mkdir()
    shutil.copy(REPO / "specs" / "github" / "asyncapi.yaml", specs / "asyncapi.yaml")
    (specs / "openapi.yaml").write_text(yaml.safe_dump(OPENAPI))
    _write_specs(specs, application, _services(application, count))
    credentials = root / "credentials" / "bench-basic"
    credentials.mkdir(parents=True)
    (credentials / "username").write_text("bench")
    (credentials / "password").write_text("bench-password")
    return specs, credentials.parent


def _timed(label: str, env: dict[str, str]) -> Figures:
    sealed.cache_clear()  # every Job run is a fresh process: no scrypt result survives from the previous run
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = run(env, stdout=out, stderr=err)
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{label}: registrar exited {code}: {err.getvalue().strip()}")
    summary = json.loads(out.getvalue().splitlines()[-1])
    return Figures(label, seconds, summary["requests"], summary["writes"], summary["result"])


def _three_runs(env: dict[str, str], specs: Path, application: str, count: int,
                registry: RegistryDouble | None = None) -> list[Figures]:
    def timed(label: str) -> Figures:
        before = registry.busy_seconds if registry else 0.0
        figures = _timed(label, env)
        if registry is None:
            return figures
        return dataclasses.replace(figures, server_seconds=registry.busy_seconds - before)

    figures = [timed("first run"), timed("rerun (same input)")]
    changed = _services(application, count)
    changed[0] = dataclasses.replace(changed[0], description="Changed.")
    _write_specs(specs, application, changed)
    figures.append(timed("rerun (1 service changed)"))
    return figures


def bench_registry(count: int) -> list[Figures]:
    application = "bench-app"
    with tempfile.TemporaryDirectory() as tmp, RegistryDouble() as registry:
        specs, credentials = _prepare(Path(tmp), application, count)
        env = {"REGISTRAR_BACKEND": "application-registry", "REGISTRAR_APPLICATION": application,
               "REGISTRAR_SPECS_DIR": str(specs), "REGISTRAR_REGISTRY_URL": registry.url,
               "REGISTRAR_CREDENTIALS_DIR": str(credentials)}
        figures = _three_runs(env, specs, application, count, registry)
        assert len(registry.services[application]) == count
        assert not registry.rejected, registry.rejected[:3]
        assert len(registry.calls) == sum(f.requests for f in figures), "client and server counts disagree"
    return figures


def _kubeconfig(explicit: str | None) -> Path:
    if explicit or os.environ.get("KUBECONFIG"):
        return Path(explicit or os.environ["KUBECONFIG"])
    from devtools.cluster import controlplane as cp
    from tests.support.controlplane import ensure_binaries_on_path, test_settings

    missing = ensure_binaries_on_path()
    if missing:
        raise SystemExit(f"application-cr: {', '.join(missing)} not found (devtools/cluster/toolchain.sh builds them)")
    return cp.up(test_settings(), log=lambda message: None)


def bench_application_cr(count: int, kubeconfig: Path) -> list[Figures]:
    from kyma_connectors.core.kube import KubeSession, from_kubeconfig
    from kyma_connectors.registrar.application_cr import API_VERSION, COLLECTION

    application = f"bench-{uuid.uuid4().hex[:8]}"
    connection = from_kubeconfig(kubeconfig)
    session = KubeSession(connection)
    url = f"{connection.server}{COLLECTION}/{application}"
    created = session.patch(url, data=json.dumps({"apiVersion": API_VERSION, "kind": "Application",
                                                 "metadata": {"name": application},
                                                 "spec": {"description": "benchmark"}}),
                            headers={"Content-Type": "application/apply-patch+yaml"},
                            params={"fieldManager": "bench"}, timeout=10)
    created.raise_for_status()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            specs, _ = _prepare(Path(tmp), application, count)
            env = {"REGISTRAR_BACKEND": "application-cr", "REGISTRAR_APPLICATION": application,
                   "REGISTRAR_SPECS_DIR": str(specs), "KUBECONFIG": str(kubeconfig)}
            figures = _three_runs(env, specs, application, count)
            stored = session.get(url, timeout=10).json()
            assert len(stored["spec"]["services"]) == count
            size = len(json.dumps(stored))
            print(f"  Application object after the runs: {size / 1024:.0f} KiB of JSON")
    finally:
        session.delete(url, timeout=10)
        session.close()
    return figures


def _print(backend: str, count: int, figures: list[Figures]) -> None:
    print(f"\n{backend}: {count} services")
    print(f"  {'run':<28}{'time':>10}{'requests':>10}{'writes':>8}  result")
    for f in figures:
        server = f"   (of which {f.server_seconds * 1000:.0f}ms in the double)" if f.server_seconds is not None else ""
        print(f"  {f.label:<28}{f.seconds * 1000:>8.0f}ms{f.requests:>10}{f.writes:>8}  {f.result}{server}")
    first, rerun = figures[0], figures[1]
    print(f"  rerun/first time ratio: {rerun.seconds / first.seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--backend", choices=["both", "application-registry", "application-cr"], default="both")
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.backend in ("both", "application-registry"):
        _print("application-registry (loopback double)", args.services, bench_registry(args.services))
    if args.backend in ("both", "application-cr"):
        kubeconfig = _kubeconfig(args.kubeconfig)
        figures = bench_application_cr(args.services, kubeconfig)
        _print("application-cr (local kube-apiserver)", args.services, figures)


if __name__ == "__main__":
    main()
