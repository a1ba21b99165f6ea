"""One controller per module."""
