"""Signal processing: the causal chain, the measures, calibration (numpy and scipy only)."""
