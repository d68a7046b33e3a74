"""`python -m rudder` = the `rudder` command."""

from rudder.cli import main

main()
