"""The knowledge store: data model, ontology, store ports and their adapters."""
