"""Catalogue: channels, schedule, guide, rules, the catalogue cache, the seed."""
