"""Accounts: sign-in, tokens, login throttling."""
