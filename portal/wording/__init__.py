"""Every email and letter the portal sends, as templates a school can override (core layer)."""
