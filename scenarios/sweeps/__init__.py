"""Sweep files shipped with csto (TOML)."""
