"""The shipped posterior of the default calibration (`--posterior shipped`)."""
