"""``python -m vigilstream`` runs the CLI."""

import sys

from vigilstream.cli import main

sys.exit(main())
