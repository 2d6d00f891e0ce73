"""Command handlers: one per command, orchestrating services inside the dispatcher's transaction."""
