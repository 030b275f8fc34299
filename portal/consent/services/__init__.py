"""The rules of the pupil register and photo consent. Services never commit: the route does."""
