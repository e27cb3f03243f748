"""Fitting parameters to observed adoption: ABC-SMC calibration and the Bass baseline."""
