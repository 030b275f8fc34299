"""The school's Complaints Procedure: concerns, stage 1 complaints and stage 2 panels."""
