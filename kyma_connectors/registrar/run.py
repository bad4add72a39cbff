"""One registration run: settings, bundle, backend, report -- and the exit code.

Kept apart from ``__main__`` so tests and the benchmark call :func:`run` in-process with their own environment and
streams, exactly as the Job would run it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

import requests

from kyma_connectors.core.kube import KubeConfigError, KubeSession, from_kubeconfig, in_cluster
from kyma_connectors.registrar.application_cr import ApplicationCrBackend
from kyma_connectors.registrar.bundle import load_bundle
from kyma_connectors.registrar.credentials import MountedSecrets
from kyma_connectors.registrar.errors import EXIT_OK, RegistrarError, SettingsError
from kyma_connectors.registrar.registry import RegistryBackend
from kyma_connectors.registrar.report import JsonLog, RunSummary
from kyma_connectors.registrar.settings import Backend, Settings
from kyma_connectors.registrar.transport import HttpClient, RetryPolicy
from kyma_connectors.registrar.webhook_host import check as check_webhook_host


def run(env: Mapping[str, str] | None = None, *, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Register once; returns the process exit code. Failures print one line ``registrar: <kind>: <reason>``."""
    env = os.environ if env is None else env
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        settings = Settings.from_env(env)
        register(settings, env, JsonLog(out, backend=settings.backend.value, application=settings.application))
    except RegistrarError as exc:
        err.write(f"registrar: {exc.kind}: {_one_line(str(exc))}\n")
        return exc.exit_code
    return EXIT_OK


def register(settings: Settings, env: Mapping[str, str], log: JsonLog) -> RunSummary:
    """Validate the bundle, then let the configured backend register it; logs each service and a summary."""
    bundle = load_bundle(settings.specs_dir, application=settings.application)
    client = _client(settings, env)
    try:
        if settings.backend is Backend.APPLICATION_CR:
            if settings.webhook_host and settings.istio_gateway:  # before any write: a wrong URL fails the run
                check_webhook_host(client, settings.istio_gateway, settings.webhook_host,
                                   lambda message: log.line("webhook-host", note=message))
            outcomes = ApplicationCrBackend(client, settings.application).register(bundle, log.service)
        else:
            secrets = MountedSecrets(settings.credentials_dir)
            outcomes = RegistryBackend(client, settings.application, secrets).register(bundle, log.service)
    finally:
        client.close()
    summary = RunSummary(outcomes=tuple(outcomes), requests=client.requests_sent, writes=client.writes_sent)
    log.summary(summary)
    return summary


def _client(settings: Settings, env: Mapping[str, str]) -> HttpClient:
    policy = RetryPolicy(budget=settings.wait_seconds)
    if settings.backend is Backend.APPLICATION_CR:
        try:
            connection = from_kubeconfig(settings.kubeconfig) if settings.kubeconfig else in_cluster(env)
        except KubeConfigError as exc:
            raise SettingsError(exc.problems) from None
        return HttpClient(connection.server, KubeSession(connection), timeout=settings.request_timeout,
                          policy=policy, target="kube-apiserver")
    assert settings.registry_url is not None  # guaranteed by Settings for this backend
    return HttpClient(settings.registry_url, requests.Session(), timeout=settings.request_timeout, policy=policy,
                      target="application-registry")


def _one_line(text: str) -> str:
    return " ".join(text.split())
