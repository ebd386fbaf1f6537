"""Domain logic of gsm-cloud: plain functions on a Session, raising api.errors types."""
