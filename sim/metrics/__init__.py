"""Outcomes derived from results on disk: costs and budgets."""
