"""The built-in synthetic demo libraries (``sfxrep demo``, ``kind: demo``)."""
