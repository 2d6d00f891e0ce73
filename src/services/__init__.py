"""Business rules, one service per aggregate. Services flush through repositories; never commit."""
