"""Scoring and evaluations: labels, P/R/F1, the samples, corpus, MTSamples and varied-document evaluations."""
