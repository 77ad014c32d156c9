"""Models arrive with the issue that builds this app (see the app docstring)."""
