"""Ingestion: partner files and API responses into the raw layer, streaming, all-or-nothing per file."""
