"""The admin screens of the workflow: memberships and their decisions, certifications and their
checklists. Importing the modules registers them."""

from . import certifications, memberships

__all__ = ["certifications", "memberships"]
