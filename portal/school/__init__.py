"""The school itself: its profile (name, crest, colour, contacts, timescales, categories), edited
by admins in the portal and read by everything else through one snapshot per request."""
