"""Billing API: checkout, payment capture and an exact token ledger."""
