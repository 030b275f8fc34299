"""Comments on the school's news: screening, the parents' pages and the moderators' pages."""
