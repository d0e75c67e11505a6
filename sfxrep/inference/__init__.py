"""Embedding with a frozen model: every model by name or path (:mod:`~sfxrep.inference.registry`), the one
precision vocabulary and its mapping to Lightning's (:mod:`~sfxrep.inference.precision`), the int8 encoder
(:mod:`~sfxrep.inference.int8`) and the batched file embedder (:mod:`~sfxrep.inference.embedding`)."""
