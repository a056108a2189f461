"""The model versions read from meta.json files equal those of the loaded models (extractors/model_info.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.model_info import model_tags, ner_model_tag
from pipeline.errors import ConfigError
from pipeline.settings import DEFAULT_NER_MODEL


@pytest.mark.parametrize("ner_model", [DEFAULT_NER_MODEL, None], ids=["bundled", "off"])
def test_when_versions_are_read_without_loading_then_they_equal_the_loaded_models(ner_model: str | None) -> None:
    from extractors.finders import model_versions

    assert model_tags(ner_model) == model_versions(ner_model)


def test_when_the_ner_model_is_not_bundled_then_reading_its_version_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ner_model_tag("no_such_model", tmp_path)
