"""The school's news channel: posts drafted by staff, approved by the head, published at /news."""
