"""Repositories: the only code that queries the database. They flush; they never commit."""
