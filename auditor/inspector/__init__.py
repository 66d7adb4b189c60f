"""The inspector spot check: the organisational checklist and the signed bundle."""
