"""Turning articles into indexed chunks: read, clean, chunk, embed, store.

Shared by the ingest job (``python -m ingest``) and the API's ``POST /documents``, which is why it
lives under ``service/`` (the service never imports ``ingest/``).
"""
