"""The subcommands of the ``evolve`` command line, one module per top-level command."""
