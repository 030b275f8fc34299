"""The moderation services: the rules of commenting and moderating, for the views to ask."""

from portal.moderation.services.words import screener_for

__all__ = ["screener_for"]
