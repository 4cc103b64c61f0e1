"""One module per `cnnviz` command (see cnnviz.cli.COMMAND_MODULES); `common` holds what they share."""
