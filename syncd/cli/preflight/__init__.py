"""``syncd check``: read-only checks of both accounts before a first run (see ``run``)."""
