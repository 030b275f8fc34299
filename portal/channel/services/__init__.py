"""The news channel's rules."""
