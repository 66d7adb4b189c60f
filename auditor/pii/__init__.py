"""Personal data as the agent recognises it (data: checks/pii.toml): the rules, cell-level recognition of mobiles,
ID numbers, names and addresses, and the masks. Used by the files area, the leak guard and remediation."""
