"""Chaos under load (``make chaos``): see ``tests/chaos/run.py``."""
