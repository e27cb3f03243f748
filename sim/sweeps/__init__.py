"""Sensitivity sweeps: experiment files, SALib sampling, streamed runs and indices."""
