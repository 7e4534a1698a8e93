"""Catalogue: channels, schedule, guide, rules, the catalogue cache and its change feed, the seed."""
