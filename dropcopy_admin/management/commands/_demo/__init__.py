"""The pieces of ``manage.py seed_demo``: the demo world's data, its history and its connectivity checks."""
