"""Frozen entry point of the command line (`cpc`): the same main() as the installed script."""
import sys

from cpc_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
