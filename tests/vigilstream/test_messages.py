from __future__ import annotations

import jsonschema
import pytest
from pydantic import ValidationError

from tests.vigilstream.samples import INVALID, VALID
from vigilstream import messages


def test_every_message_type_has_samples() -> None:
    assert set(VALID) == set(messages.SCHEMAS) == set(INVALID)


@pytest.mark.parametrize(
    ("name", "sample"), [(n, s) for n, samples in VALID.items() for s in samples]
)
def test_valid_samples_pass_model_and_json_schema(name: str, sample: dict) -> None:
    messages.validate(name, sample)
    jsonschema.validate(sample, messages.json_schema(name))


@pytest.mark.parametrize(
    ("name", "sample", "expected"),
    [(n, s, e) for n, samples in INVALID.items() for s, e in samples],
)
def test_invalid_samples_rejected_with_readable_error(name: str, sample: dict, expected: str):
    with pytest.raises(ValidationError) as err:
        messages.validate(name, sample)
    text = messages.describe_error(err.value)
    assert "\n" not in text
    assert expected in text, text


def test_fahrenheit_and_epoch_parse_to_aware_times() -> None:
    reading = messages.validate("reading", VALID["reading"][1])
    assert reading.ts.utcoffset() is not None
    assert reading.ts.timestamp() == 1795767300


def test_json_schemas_are_valid_draft_2020_12() -> None:
    for name in messages.SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(messages.json_schema(name))
