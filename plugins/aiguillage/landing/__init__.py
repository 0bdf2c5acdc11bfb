"""The landing zone: where partner files arrive, and the registry that records each one."""
