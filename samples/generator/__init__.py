"""docverify's synthetic sample generator: invented cases laid out, rendered and degraded into labeled uploads.

Every person, clinic, phone number and MRN is invented. Each upload is described by a small data model (`model`:
`Person`, `Dx`, `Case`, `Sample`); a layout (`layouts`: `note`, `avs`, `problems`, `fax_referral`, `portal`) turns
cases into paper lines or a portal screen; `paper` and `screens` draw those; `degrade` makes page images look
scanned, faxed or photographed; `renderers` has one renderer per kind that encodes the bytes (PDF, JPEG, TIFF G4,
HEIC, PNG, WEBP). The samples and their labels sit side by side in `cases` (people in `people`, rejected uploads in
`rejected`); `catalog` writes labels.jsonl, manifest.csv and the README catalog; `cli.main` writes everything.

Determinism: every sample draws from its own `random.Random(f"{SEED}:{file}")`; PDFs carry a fixed creation date;
Pillow writes no metadata. Rerunning produces byte-identical files (HEIC depends on the x265 encoder build).
"""
