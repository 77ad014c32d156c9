"""Forms of the entitlements app, one module per subject (catalogue and procedures,
applications, decisions, records, letters, the register). Import from the module."""
