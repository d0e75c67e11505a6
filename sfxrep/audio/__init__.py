"""Audio in: decoding any sound file, input-block geometry, and the wave cache (the lowest layer of docs/architecture.md)."""
