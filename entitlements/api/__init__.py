"""Entitlements' part of REST API v1 (under /api/v1/): who may receive what."""
