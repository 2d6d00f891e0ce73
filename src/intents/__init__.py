"""Provider intents: every provider action that moves money or changes state at the provider
runs as command (commit the intent) → provider call with no transaction open (idempotency key
= the intent's id) → command (record the outcome). The processes here are that middle step:
they own no rules (the commands do), only the order, the provider call and the fault points.
"""
