"""The documented record that `csto calibrate` compares the model with (TOML)."""
