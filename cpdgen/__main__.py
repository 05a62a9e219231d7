import sys

from cpdgen.cli import main

sys.exit(main())
