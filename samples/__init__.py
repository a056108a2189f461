"""docverify's labeled synthetic uploads: the generator package (`generator/`), its entry point and its output."""
