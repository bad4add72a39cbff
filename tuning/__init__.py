"""Process-level tuning of the Pulumi program's runtime: output-identical, measured in bench/bench_program.py."""
