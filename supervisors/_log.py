"""The structlog logger of the supervisors package.

Event names are dotted (``child.restarting``) with key-values; every event about a
child carries ``supervisor``, ``child``, ``incarnation`` and, where it applies,
``reason``. The program configures structlog once; this package never does.
"""

from __future__ import annotations

import structlog

log = structlog.get_logger("supervisors")
