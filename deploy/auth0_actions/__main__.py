import sys

from auth0_actions.cli.main import main

sys.exit(main())
