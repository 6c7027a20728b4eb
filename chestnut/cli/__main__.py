"""``python -m chestnut.cli``: the command line, as the installed ``chestnut`` script runs it."""

from chestnut.cli import main

main()
