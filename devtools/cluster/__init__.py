"""Developer and CI tooling: the offline toolchain, the local control plane, the stack driver, e2e and demo helpers.

Shell entry points (`toolchain.sh`, `env.sh`) live beside the Python modules; the Makefile calls the modules.
"""
