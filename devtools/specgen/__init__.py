"""Generators and checks for the shipped AsyncAPI catalogs (``specs/<solution>/asyncapi.yaml``).

Why dev tooling generates product data: GitHub keeps adding webhook events and actions, and a hand-kept list lags
(the issue that started this: 19 events listed, about 70 sent). ``make specs`` re-derives
``specs/github/asyncapi.yaml`` from GitHub's own per-event payload schemas, and a test fails whenever the committed
document and a fresh render differ, so the catalog cannot silently drift from its source.

- :mod:`devtools.specgen.github` renders the GitHub catalog from the schemas folder (one folder per event, one
  schema per action).
- :mod:`devtools.specgen.availability` says which events a repository or organization hook cannot subscribe to.
- :mod:`devtools.specgen.asyncapi_schema` validates any AsyncAPI 2.6 document against the official JSON Schema of
  the AsyncAPI Initiative (npm package ``@asyncapi/specs``, pinned in ``devtools/specgen/package.json``).
"""
