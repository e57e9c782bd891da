"""People: the roster (import, upsert, leavers), audiences, and erasure (``people forget``)."""
