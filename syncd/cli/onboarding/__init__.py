"""``syncd init``: a starter configuration and mappings read from both accounts (see ``run``)."""
