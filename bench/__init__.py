"""Benchmarks and the retrieval evaluation (MultiHop-RAG)."""
