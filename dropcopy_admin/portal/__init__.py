"""The Request Center pages for client administrators: groups, sessions and targets.

Thin views over the core's services and selectors (and, for what a change would cost or open,
entitlements' and billing's). Their routes join the portal's in ``dropcopy_admin/portal_urls.py``.
"""
