import sys

from saveur.cli import run

sys.exit(run())
