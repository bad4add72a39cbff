"""The shared pure library: what the program, the services and the CLI must agree on, with no Pulumi and no server
framework in it, so every artefact can import it."""
