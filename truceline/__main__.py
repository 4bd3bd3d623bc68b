"""`python -m truceline`: the command line."""

from truceline.cli import main

main()
