"""France Travail partner API: a client, the project's local stand-in of the API, and the sync.

- :mod:`.api_client` talks to the API (OAuth2 client credentials, retries, rate bound, one
  :class:`~.api_client.ResponseRecord` per call) and never logs a NIR, a token or a secret;
- :mod:`.api_standin` is a real HTTP server on loopback that behaves like the API, with switchable
  faults, for development, tests and the demo;
- :mod:`.api_sync` chooses whom to look up and lands every response in ``raw.france_travail_api_call``.
"""
