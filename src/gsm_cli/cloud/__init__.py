"""Talking to gsm-cloud: credentials and the HTTP client."""
