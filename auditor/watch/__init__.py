"""Watch mode: alerts on new unmasked exports (file events) and newly started remote-control tools (process poll)."""
