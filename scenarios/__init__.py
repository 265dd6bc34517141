"""Scenario files shipped with csto (TOML); see `csto scenarios`."""
