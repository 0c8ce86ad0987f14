"""Chains: small pipelines of named steps over the library (ask, compare, review)."""
