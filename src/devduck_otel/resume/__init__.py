"""Resume: restoring an agent from a snapshot, and continuing it."""
