"""The scan core: severity, the finding model, options, context, check semantics, the finding factory, the typed
hand-over between areas and the area contract. Imports only the base modules below it."""
