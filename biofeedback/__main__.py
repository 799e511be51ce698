import sys

from biofeedback.cli import main

sys.exit(main())
