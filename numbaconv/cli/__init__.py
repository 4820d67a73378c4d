"""Command-line subcommands of ``python -m numbaconv``, one module each (see ``__main__``)."""
