"""Figures and generated documentation, built from results on disk."""
