"""Checks: judge the collected facts against the data packs and emit findings."""
