"""The commands: one module each, with ``add_parser(sub)`` (its own arguments; the shared ones come from
``commands.options``) and ``run(args) -> exit code``. ``auditor.cli`` assembles and dispatches them."""
