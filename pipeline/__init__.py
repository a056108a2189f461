"""docverify domain layer: types, errors, intake, policy, evaluation, reports. No heavy frameworks here."""

__version__ = "0.1.0"
