"""Audio in: decoding any sound file, input-block geometry, and the wave cache (DESIGN.md §1, first stage)."""
