"""The service face of hopgraph: the CLI and (later) the HTTP API.

The only package that knows about argv, HTTP and terminals.
"""
