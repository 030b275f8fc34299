"""What the school expects of parents online, its policy, and the portal's own notices."""
