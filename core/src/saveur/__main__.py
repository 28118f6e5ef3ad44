import sys

from saveur.cli import main

sys.exit(main())
