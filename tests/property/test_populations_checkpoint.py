"""Checkpoint and spec text are exact: save -> load is the identity on nested JSON-like states."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from populations import RunDir, StrategySpec, load_latest_checkpoint, save_checkpoint
from populations.checkpoint import decode_checkpoint, encode_checkpoint
from tests.unit.populations.helpers import make_spec

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=30,
)
states = st.dictionaries(st.text(max_size=8), values, max_size=6)


def normalised(value: object) -> object:
    # what JSON can promise: tuples become lists; floats compared bit for bit (NaN included)
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [normalised(item) for item in value]
    if isinstance(value, dict):
        return [(key, normalised(item)) for key, item in value.items()]
    return value


@given(generation=st.integers(0, 10**6), state=states)
def test_checkpoint_text_when_encoded_and_decoded_then_identity(generation, state):
    decoded_generation, decoded = decode_checkpoint(encode_checkpoint(generation, state))

    assert decoded_generation == generation
    assert normalised(decoded) == normalised(state)


@settings(max_examples=25)
@given(generation=st.integers(0, 10_000), state=states)
def test_save_checkpoint_when_loaded_from_disk_then_identity(generation, state):
    with tempfile.TemporaryDirectory() as root:
        run_dir = RunDir.create(Path(root), "run")
        save_checkpoint(run_dir, generation, state)

        loaded = load_latest_checkpoint(run_dir)

        assert loaded is not None and loaded[0] == generation
        assert normalised(loaded[1]) == normalised(state)
        assert [p.name for p in run_dir.checkpoints_dir.iterdir()] == [f"gen-{generation:06d}.json"]


@settings(max_examples=50)
@given(
    objectives=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
    metric=st.floats(allow_nan=True, allow_infinity=True),
    stability=st.none() | st.floats(allow_nan=True, allow_infinity=True),
)
def test_spec_text_when_round_tripped_then_floats_bit_exact(objectives, metric, stability):
    spec = make_spec(
        objectives=objectives, metrics={"validation": {"sharpe": metric}}, stability=stability
    )

    again = StrategySpec.from_json(spec.to_json())

    assert again.to_json() == spec.to_json()
    assert normalised(again.objectives) == normalised(objectives)
    assert normalised(again.metrics["validation"]["sharpe"]) == normalised(metric)
    assert normalised(again.stability) == normalised(stability)
