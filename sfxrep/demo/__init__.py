"""The built-in synthetic demo libraries (``kind: demo`` in a libraries YAML; written on first use)."""
