"""Comparing investments: paired comparisons, the Figure-1 countries, the decision brief."""
