"""The Litestar HTTP API: ``create_app(settings)`` in :mod:`api.http.app`."""
