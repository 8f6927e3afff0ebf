"""``make bench``: the figures of issue 12, measured in one run (``python -m bench``)."""
