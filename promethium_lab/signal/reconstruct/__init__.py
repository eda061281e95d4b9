"""Reconstruction of missing traces (placeholder during development)."""
