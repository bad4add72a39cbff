"""``python -m devtools.specgen``: render the generated catalogs, check them, validate AsyncAPI documents.

    python -m devtools.specgen              write specs/github/asyncapi.yaml from ../shared/github/schemas
    python -m devtools.specgen --check      exit 1 when the committed document differs from a fresh render
    python -m devtools.specgen validate F…  AsyncAPI 2.6.0 schema + catalog rules for each document F

Exit codes: 0 fine, 1 differs / invalid (each problem on its own line), 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Final

from devtools.specgen import asyncapi_schema, github
from kyma_connectors.core.catalog import CatalogError, catalog_path, parse_catalog, read_document

REPO: Final[Path] = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMAS: Final[Path] = Path(
    os.environ.get("KC_SHARED", REPO.parent / "shared")
) / "github" / "schemas" / "api.github.com"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.specgen", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="github", choices=("github", "validate"))
    parser.add_argument("documents", nargs="*", type=Path, help="validate: AsyncAPI documents")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="GitHub webhook schemas folder")
    parser.add_argument("--out", type=Path, default=catalog_path("github"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return _validate(args.documents)
    try:
        text = github.render(args.schemas)
    except github.SchemaFolderError as exc:
        print(f"specgen: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"specgen: {args.out} differs from a fresh render of {args.schemas}; run `make specs`",
                  file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"specgen: wrote {args.out} ({text.count(chr(10))} lines)")
    return 0


def _validate(documents: list[Path]) -> int:
    if not documents:
        print("specgen validate: name one or more AsyncAPI documents", file=sys.stderr)
        return 2
    failed = False
    for path in documents:
        try:
            document = read_document(path)
        except CatalogError as exc:
            print(exc, file=sys.stderr)
            return 2
        found = [f"AsyncAPI 2.6.0: {p}" for p in asyncapi_schema.problems(document)]
        try:
            parse_catalog(document, source=path, solution=path.parent.name)
        except CatalogError as exc:
            found += [f"catalog: {p}" for p in exc.problems]
        for problem in found:
            print(f"{path}: {problem}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
