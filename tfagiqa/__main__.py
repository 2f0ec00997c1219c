"""``python -m tfagiqa`` runs the command line."""

import sys

from tfagiqa.cli import main

sys.exit(main())
