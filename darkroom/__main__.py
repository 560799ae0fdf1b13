"""``python -m darkroom``: the same entry point as ``python app.py`` and ``darkroom``."""

import sys

from darkroom.cli import main

sys.exit(main())
