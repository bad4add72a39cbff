"""Developer and CI tooling: the offline toolchain, the local control plane, the stack driver, e2e and demo helpers.

Shell entry points (`toolchain.sh`, `env.sh`, `controlplane.sh`, `demo.sh`) live beside the Python modules they call.
"""
