"""Command-line entry points: ``python -m numbaconv demo`` and ``python -m numbaconv bench``."""
