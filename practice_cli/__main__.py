"""`python -m practice_cli`: the same as the `practice` command."""

from practice_cli.cli import main

main()
