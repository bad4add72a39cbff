"""A throwaway Pulumi project directory for one e2e stack: the repo's program, its own config and state.

The e2e stacks must not write into the clone (no Pulumi.<stack>.yaml left behind), so each gets a temp directory
(scripts.stack.scratch_project) and its own stack config file, written through the Automation API the way
`pulumi config set [--secret] --path` writes it. The program itself runs from the repo (devtools/cluster/stack.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from devtools.cluster import stack as driver
from tests.support.paths import REPO

PASSPHRASE = "e2e-local-only"  # encrypts this temp stack's config secrets; never leaves the temp dir


@dataclass(frozen=True)
class Project:
    """A selected stack in its temp project directory, with the env the CLI runs under."""

    work_dir: Path
    stack: auto.Stack
    env: Mapping[str, str]

    def set_config(self, values: Mapping[str, Any], secrets: Mapping[str, str] = {}) -> None:
        """Set `kyma-connectors:<path>` keys (plain and secret), like `pulumi config set [--secret] --path`."""
        config = {f"kyma-connectors:{k}": auto.ConfigValue(value=_text(v)) for k, v in values.items()}
        config |= {f"kyma-connectors:{k}": auto.ConfigValue(value=v, secret=True) for k, v in secrets.items()}
        self.stack.set_all_config(config, path=True)

    def remove_config(self, *keys: str) -> None:
        """Remove `kyma-connectors:<path>` keys, like `pulumi config rm --path`."""
        self.stack.remove_all_config([f"kyma-connectors:{k}" for k in keys], path=True)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_project(root: Path, stack_name: str, state_dir: Path, kubeconfig: Path | None,
                 program: Path = REPO / "__main__.py") -> Project:
    """Create the temp project for `stack_name` under `root` and select (create) the stack."""
    work_dir = driver.scratch_project(root / stack_name)
    env = {
        "PULUMI_BACKEND_URL": f"file://{state_dir}",
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    else:
        env["KUBECONFIG"] = str(work_dir / "no-cluster.kubeconfig")  # render mode: must not reach any cluster
    return Project(work_dir, driver.select(stack_name, work_dir, program, env), env)
