"""Subcommands other than scan: each module has main(args) -> exit code."""
