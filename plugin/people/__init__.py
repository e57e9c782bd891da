"""People: the roster (import, upsert, leavers) and erasure (``people forget``)."""
