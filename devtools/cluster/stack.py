"""Run the project's Pulumi program through the real CLI and engine as an Automation API inline program.

Why inline: the Python language host (`pulumi-language-python`) is a separate Go module that the Go module proxy
does not serve, so the offline toolchain has no language host binary. An inline program is run by the same CLI and
engine (`pulumi up --client=<addr>`): the Automation API serves the LanguageRuntime in this process and runs
`__main__.py` here, so the engine, the state backend, the providers (pulumi-resource-kubernetes, the dynamic
provider shim) and the diff/plan logic are exactly those of `pulumi up`. With an installed Pulumi (language host
included), `pulumi up -s local` in the repo root does the same thing the usual way.

    python -m devtools.cluster.stack preview|up|refresh|destroy|outputs [-s local]
        [--expect-no-changes] [--policy-pack DIR]

Environment: run `source devtools/cluster/env.sh` first (toolchain on PATH, local file backend, no plugin downloads).
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[2]


class StackError(Exception):
    """The stack could not be selected or an operation failed (the engine's message is kept)."""


@dataclass(frozen=True)
class Step:
    """One resource step the engine reported (preview or update): what it did to which resource and why."""

    op: str
    urn: str
    type: str
    diffs: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class StepLog:
    """Collects the engine's resource steps from the event stream (`on_event`)."""

    steps: list[Step] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    policy_violations: list[str] = field(default_factory=list)

    def __call__(self, event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and pre.metadata is not None:
            meta = pre.metadata
            self.steps.append(Step(op=str(meta.op.value), urn=meta.urn, type=meta.type,
                                   diffs=tuple(meta.diffs or ()), replace_keys=tuple(meta.keys or ())))
        diag = event.diagnostic_event
        if diag is not None and diag.severity in ("error", "warning"):
            self.diagnostics.append(f"{diag.severity}: {diag.message.strip()}")
        policy = event.policy_event
        if policy is not None:
            where = policy.resource_urn.rsplit("::", 1)[-1] if policy.resource_urn else "stack"
            self.policy_violations.append(
                f"{policy.enforcement_level} {policy.policy_pack_name}/{policy.policy_name} on {where}: "
                f"{policy.message.strip()}")

    def changed(self, include_providers: bool = False) -> list[Step]:
        """Steps that change something (not `same`, not a plain `refresh` read), excluding the stack itself."""
        return [s for s in self.steps
                if s.op not in ("same", "refresh") and s.type != "pulumi:pulumi:Stack"
                and (include_providers or not s.type.startswith("pulumi:providers:"))]

    def by_op(self) -> dict[str, list[str]]:
        """`{op: sorted "type::name (changed keys)"}` of the changing steps."""
        result: dict[str, list[str]] = {}
        for step in self.changed():
            why = (f" (diffs: {', '.join(step.diffs)}; replace: {', '.join(step.replace_keys)})"
                   if step.diffs or step.replace_keys else "")
            result.setdefault(step.op, []).append(f"{step.type}::{step.name}{why}")
        return {op: sorted(names) for op, names in sorted(result.items())}


def policy_pack_path(policy_dir: Path, scratch: Path) -> str:
    """What to pass to `--policy-pack` for a Python policy pack directory.

    The engine starts a directory pack through the Python language host, which the offline toolchain lacks. It can
    also start a pack given as an *executable*, as a binary analyzer plugin (pkg/resource/plugin/analyzer_plugin.go):
    this writes a two-line launcher that runs the pack's own `__main__.py` with the pack's virtualenv, so the real
    pulumi-policy SDK serves the analyzer protocol and the engine enforces it as usual. The pack's PulumiPolicy.yaml
    is copied beside the launcher (the engine reads it from there). With a language host on PATH, the directory is
    passed through unchanged.
    """
    policy_dir = policy_dir.resolve()
    if shutil.which("pulumi-language-python") or not (policy_dir / "__main__.py").exists():
        return str(policy_dir)
    manifest = yaml.safe_load((policy_dir / "PulumiPolicy.yaml").read_text()) or {}
    runtime = manifest.get("runtime")
    venv = runtime.get("options", {}).get("virtualenv") if isinstance(runtime, dict) else None
    # normpath, not resolve(): a venv's bin/python is a symlink, and following it would leave the venv.
    python = Path(os.path.normpath(policy_dir / venv / "bin" / "python")) if venv else Path(sys.executable)
    if not python.exists():
        python = Path(sys.executable)
    scratch.mkdir(parents=True, exist_ok=True)
    launcher = scratch / policy_dir.name
    run_pack = f'cd {shlex.quote(str(policy_dir))} && exec {shlex.quote(str(python))} -u __main__.py "$@"'
    launcher.write_text(f"#!/bin/sh\n{run_pack}\n")
    launcher.chmod(0o755)
    shutil.copyfile(policy_dir / "PulumiPolicy.yaml", scratch / "PulumiPolicy.yaml")
    return str(launcher)


def scratch_project(work_dir: Path, repo: Path = REPO) -> Path:
    """A project directory outside the clone for throwaway stacks (e2e, benchmarks): the repo's Pulumi.yaml with
    its virtualenv made absolute (the engine resolves it against this directory for the dynamic-provider shim).
    Stack config files then land here, not in the clone; the program still runs from `repo`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    project = yaml.safe_load((repo / "Pulumi.yaml").read_text())
    runtime = project.setdefault("runtime", {})
    if isinstance(runtime, str):
        runtime = project["runtime"] = {"name": runtime}
    runtime.setdefault("options", {})["virtualenv"] = str(repo / ".venv")
    (work_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    return work_dir


def project_name(work_dir: Path) -> str:
    doc = yaml.safe_load((work_dir / "Pulumi.yaml").read_text())
    return str(doc["name"])


def inline_program(program: Path) -> Callable[[], None]:
    """The program file run as `__main__`, exactly as the language host would run it."""

    def run() -> None:
        if str(program.parent) not in sys.path:
            sys.path.insert(0, str(program.parent))
        runpy.run_path(str(program), run_name="__main__")

    return run


def select(stack: str, work_dir: Path = REPO, program: Path | None = None,
           env: Mapping[str, str] | None = None) -> auto.Stack:
    """Create or select `stack` of the project in `work_dir` (its Pulumi.yaml and Pulumi.<stack>.yaml apply)."""
    if not (work_dir / "Pulumi.yaml").exists():
        raise StackError(f"{work_dir}/Pulumi.yaml not found: no Pulumi project there")
    opts = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=dict(env or {}))
    try:
        return auto.create_or_select_stack(stack_name=stack, project_name=project_name(work_dir),
                                           program=inline_program(program or work_dir / "__main__.py"), opts=opts)
    except auto.CommandError as exc:
        raise StackError(f"selecting stack {stack!r}: {exc}") from exc


def _print(line: str) -> None:
    print(line, flush=True)


def run(action: str, stack: auto.Stack, expect_no_changes: bool = False, policy_packs: list[str] | None = None,
        quiet: bool = False, diff: bool = False) -> tuple[StepLog, Any]:
    """Run one engine operation; return the step log and the Automation API result (`diff`: print full diffs)."""
    log = StepLog()
    out = None if quiet else _print
    common: dict[str, Any] = {"on_output": out, "on_event": log, "color": "never"}
    try:
        if action == "preview":
            result: Any = stack.preview(diff=diff, expect_no_changes=expect_no_changes or None,
                                        policy_packs=policy_packs, **common)
        elif action == "up":
            result = stack.up(diff=diff, expect_no_changes=expect_no_changes or None,
                              policy_packs=policy_packs, **common)
        elif action == "refresh":
            result = stack.refresh(expect_no_changes=expect_no_changes or None, **common)
        elif action == "destroy":
            result = stack.destroy(**common)
        else:
            raise StackError(f"unknown action {action!r}")
    except auto.CommandError as exc:
        detail = "\n".join([*log.policy_violations, *log.diagnostics]) or str(exc)
        raise StackError(f"pulumi {action} failed:\n{detail}") from exc
    return log, result


def outputs(stack: auto.Stack) -> dict[str, Any]:
    """Stack outputs with secrets masked (as `pulumi stack output` prints them)."""
    return {k: ("[secret]" if v.secret else v.value) for k, v in stack.outputs().items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster.stack", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["preview", "up", "refresh", "destroy", "outputs"])
    parser.add_argument("-s", "--stack", default=os.environ.get("PULUMI_STACK", "local"))
    parser.add_argument("--cwd", type=Path, default=REPO, help="project directory (Pulumi.yaml)")
    parser.add_argument("--expect-no-changes", action="store_true")
    parser.add_argument("--diff", action="store_true", help="print the full property diff of every change")
    parser.add_argument("--policy-pack", action="append", default=None, help="policy pack directory")
    args = parser.parse_args(argv)
    os.chdir(args.cwd)
    try:
        stack = select(args.stack, args.cwd.resolve())
        if args.action == "outputs":
            print(json.dumps(outputs(stack), indent=2, sort_keys=True))
            return 0
        with tempfile.TemporaryDirectory(prefix="kc-policy-") as scratch:
            packs = [policy_pack_path(Path(p), Path(scratch) / str(i)) for i, p in enumerate(args.policy_pack or [])]
            log, _ = run(args.action, stack, args.expect_no_changes, packs or None, diff=args.diff)
    except StackError as exc:
        print(f"[stack] {exc}", file=sys.stderr)
        return 1
    changes = log.by_op()
    print(f"[stack] {args.action} {args.stack}: " + (json.dumps({k: len(v) for k, v in changes.items()})
                                                     if changes else "no changes"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
