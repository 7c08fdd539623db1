"""Frozen entry point of the window (`cpc-desktop`): the same main() as the installed script."""
import sys

from cpc_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
