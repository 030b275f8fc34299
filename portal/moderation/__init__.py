"""Comments on the school's news: screened, held for a moderator, and only then public."""
