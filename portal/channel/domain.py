"""The news channel as the portal assembles it (`portal.domains`)."""

from __future__ import annotations

from portal.channel import models
from portal.domains import Domain

DOMAIN = Domain(name="channel", models=models)
