"""Who may receive what — the writes: the membership workflow (memberships.py: request with
auto-approval, withdraw/remove, approve, reject, revoke, expiry, the target preview), AutoCert+
certifications and New Release test targets (temporary_targets.py), and the checklist the gateway
records (checklist.py)."""
