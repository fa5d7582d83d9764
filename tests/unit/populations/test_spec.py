"""Strategy spec: exact JSON round-trip, stable text, validation, atomic file I/O."""

from __future__ import annotations

import json
import math

import pytest

from populations import STATES, SpecError, StrategySpec, load_spec, save_spec
from tests.unit.populations.helpers import make_spec


def test_spec_when_round_tripped_then_text_identical_and_floats_exact():
    spec = make_spec(objectives=[0.1 + 0.2, 1e-300, 123456789.123456789])

    text = spec.to_json()
    again = StrategySpec.from_json(text)

    assert again.to_json() == text
    assert again.objectives == [0.1 + 0.2, 1e-300, 123456789.123456789]
    assert again.objectives[0].hex() == (0.1 + 0.2).hex()


def test_spec_when_non_finite_floats_then_written_as_literals_and_read_back():
    spec = make_spec(
        objectives=[math.nan, math.inf, -math.inf],
        metrics={"train": {"sharpe": math.nan}, "validation": {"sharpe": -math.inf}},
        stability=math.inf,
    )

    text = spec.to_json()
    again = StrategySpec.from_json(text)

    assert "NaN" in text and "Infinity" in text
    assert math.isnan(again.objectives[0]) and again.objectives[1:] == [math.inf, -math.inf]
    assert math.isnan(again.metrics["train"]["sharpe"]) and again.stability == math.inf
    assert again.to_json() == text


def test_spec_when_serialised_then_keys_follow_field_order_and_no_wall_clock():
    text = make_spec().to_json()

    keys = list(json.loads(text))

    assert keys == list(StrategySpec.model_fields)
    assert keys[:3] == ["schema_version", "id", "expression"]
    assert not any("time" in key or key.endswith("_at") for key in keys)
    assert text.endswith("}\n") and text.isascii()


def test_spec_when_built_twice_then_byte_identical():
    assert make_spec().to_json() == make_spec().to_json()


@pytest.mark.parametrize("state", STATES)
def test_spec_when_known_state_then_accepted(state):
    assert make_spec(state=state).state == state


def test_spec_when_unknown_state_then_error_names_field_and_choices():
    with pytest.raises(ValueError, match="state") as caught:
        make_spec(state="dead")
    assert "candidate" in str(caught.value)


def test_spec_when_unknown_key_or_objective_count_mismatch_then_rejected():
    payload = json.loads(make_spec().to_json())
    payload["surprise"] = 1
    with pytest.raises(SpecError, match="surprise"):
        StrategySpec.from_json(json.dumps(payload))
    with pytest.raises(ValueError, match="one value per objective name"):
        make_spec(objectives=[1.0])


def test_spec_when_other_schema_version_then_rejected():
    payload = json.loads(make_spec().to_json())
    payload["schema_version"] = 2
    with pytest.raises(SpecError, match="schema_version"):
        StrategySpec.from_json(json.dumps(payload))


def test_spec_when_frozen_then_assignment_fails():
    spec = make_spec()
    with pytest.raises(ValueError):
        spec.state = "live"  # type: ignore[misc]
    assert spec.with_state("promoted").state == "promoted"
    assert spec.with_state("promoted").to_json() == spec.to_json().replace(
        '"state": "candidate"', '"state": "promoted"'
    )
    with pytest.raises(ValueError, match="state"):
        spec.with_state("zombie")


def test_save_spec_when_written_then_loads_equal_and_no_temp_files(tmp_path):
    spec = make_spec(objectives=[math.nan, 0.5, 3.0])
    path = tmp_path / "a1b2.json"

    save_spec(spec, path)

    assert load_spec(path).to_json() == spec.to_json()
    assert [p.name for p in tmp_path.iterdir()] == ["a1b2.json"]


def test_spec_to_json_when_value_not_json_serialisable_then_spec_error():
    spec = make_spec(data={"timeframe": "1h", "symbols": {"BTCUSDT"}})

    with pytest.raises(SpecError, match="not JSON-serialisable"):
        spec.to_json()


def test_load_spec_when_bad_content_then_error_names_file_and_problem(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x",', "utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"id": "x"}', "utf-8")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", "utf-8")

    with pytest.raises(SpecError, match=r"broken\.json: invalid JSON at line 1"):
        load_spec(broken)
    with pytest.raises(SpecError, match=r"wrong\.json: .*expression: Field required"):
        load_spec(wrong)
    with pytest.raises(SpecError, match=r"list\.json: expected a JSON object, found list"):
        load_spec(listing)
    with pytest.raises(SpecError, match=r"missing\.json: cannot read"):
        load_spec(tmp_path / "missing.json")
