"""Forms of the entitlements app, one module per subject (catalogue and procedures,
applications, decisions, records, letters). Import from the module."""
