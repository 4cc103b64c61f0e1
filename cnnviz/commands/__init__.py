"""Subcommands of `cnnviz` that live in their own modules (see cnnviz.cli.COMMAND_MODULES)."""
