"""Shared foundations of hopgraph: the exception hierarchy and typed settings.

Every other package may import ``core``; ``core`` imports nothing of the project.
"""
