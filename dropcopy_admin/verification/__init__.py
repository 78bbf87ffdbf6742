"""Connectivity verification (R16): an asyncio FIX probe client and a bounded concurrent runner."""
