"""The MTSamples evaluation: hand-labeled dictated notes (labels.jsonl, README.md) and the pain decision's scorer."""
