"""Data in and out: text and vocabularies, the embedded corpora, model files, input checks."""
