"""The free parameters of the shipped scenarios (parameters.toml), for sensitivity analysis."""
