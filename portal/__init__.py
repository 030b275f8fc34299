"""The school's parent portal."""
