"""docverify readers and finders: bytes → `Document` (routing.read_document), then fields found in it.

Kept import-free so that importing one extractor does not pull in pdfium, tesseract and Pillow plugins for all.
"""
