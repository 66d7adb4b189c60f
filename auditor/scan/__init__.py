"""The scan: the static registry of the areas and the one pipeline every command runs (run -> finish -> seal ->
write)."""
