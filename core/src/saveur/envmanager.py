"""Former import path of :mod:`saveur.environment.envmanager`, kept so existing imports work.

Importing it gives the very module object of the new path (same functions, same state).
"""

from __future__ import annotations

import sys

from saveur.environment import envmanager as _envmanager

sys.modules[__name__] = _envmanager
