"""France Travail partner API: a client, the project's local stand-in of the API, the lookups, and the
Département's orientations sent back.

- :mod:`.api_client` talks to the API as production software does (OAuth2 client credentials, user
  search by birth date and NIR, orientation read and sent with the person token and the agent
  headers; retries, rate bound, one :class:`~.api_client.ResponseRecord` per call) and never logs a
  NIR, a token or a secret;
- :mod:`.api_standin` is a real HTTP server on loopback that serves the same interface, with
  switchable faults, for development, tests and the demo;
- :mod:`.api_sync` chooses whom to look up and lands every response in ``raw.france_travail_api_call``;
- :mod:`.send_orientations` tells France Travail of the Département's orientations, once each.
"""
