"""`python -m cnnviz` runs the same entry point as the `cnnviz` command."""

from cnnviz.cli import main

raise SystemExit(main())
