"""`spacy train --code training/ner_code.py`: registers docverify's training callbacks (the NER tokenizer)."""

from training.corpora import ner_tokenizer_callback

__all__ = ["ner_tokenizer_callback"]
