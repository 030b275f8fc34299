"""Photo consent: the pupil register, consent records, safeguarding flags and the photo check."""
