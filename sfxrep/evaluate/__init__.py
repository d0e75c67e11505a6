"""Evaluation of frozen embeddings: kNN macro-F1 per frame and per file, Davies-Bouldin index."""
