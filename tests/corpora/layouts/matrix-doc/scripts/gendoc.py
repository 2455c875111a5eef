# Marks the legacy layout; never run.
