"""Curation of a collection (knowledge engineers): the versioned ontology it is checked against.

Works over the embedded store's tables directly (read-only) where the store ports
have no query for it, so ``graph/ports.py`` stays as it is.
"""
