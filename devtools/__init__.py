"""Developer tooling that never ships: test doubles, the local cluster and its toolchain, the stack driver."""
