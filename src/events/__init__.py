"""Domain events, the unit of work and the dispatcher."""
