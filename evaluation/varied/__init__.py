"""Varied, independently written test documents for docverify: generator, layouts and labels."""
