"""The asynchronous side: the job engine (procrastinate on the same PostgreSQL) and its tasks.

Jobs own no rules: a task turns its arguments into one command and emits it through the
dispatcher, exactly as a route does, so routes, jobs and the CLI share every rule.
"""
