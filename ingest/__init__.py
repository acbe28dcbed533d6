"""The ingest job: read, clean, chunk, embed and store articles."""
