"""Bundled resources (installed as the package ``convexplorer.resources``)."""
