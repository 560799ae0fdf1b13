"""Pixels and files: formats, decoding, EXIF, encoding, analysis and rendering (no database)."""
