"""A finished run opened for promotion: manifest, configuration, market, hall of fame, lineage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolve.config import RunConfig, read_resolved_config
from evolve.engine.inputs import MarketInputs, load_market
from fitness import DataError
from populations import (
    LineageStore,
    RunDir,
    RunDirError,
    RunManifest,
    StrategySpec,
    read_hall_of_fame,
)

FINISHED = ("completed", "stopped_early")


@dataclass(frozen=True, slots=True)
class RunInputs:
    """A finished run's manifest, configuration, market, hall of fame and lineage."""

    run_dir: RunDir
    manifest: RunManifest
    config: RunConfig
    inputs: MarketInputs
    candidates: list[StrategySpec]
    lineage: Any


def open_run(path: Path | RunDir) -> RunInputs:
    """Open a finished run and reload its data, refusing changed datasets.

    Raises
    ------
    RunDirError
        If the path is not a run, the run is not finished, or it has no hall of fame.
    DataError
        If a dataset is missing or its content hash differs from ``run.json`` (named).
    """
    run_dir = path if isinstance(path, RunDir) else RunDir.open(Path(path))
    manifest = run_dir.read_manifest()
    if manifest.status not in FINISHED:
        raise RunDirError(
            f"{run_dir.run_json_path}: run {manifest.run_id} is {manifest.status!r} at "
            f"generation {manifest.generation} of {manifest.n_generations}; promote a finished "
            f"run (status completed or stopped_early) — finish it with `evolve run --run-dir "
            f"{run_dir.path} --resume`"
        )
    if not run_dir.hall_of_fame_path.is_file():
        raise RunDirError(
            f"{run_dir.hall_of_fame_path}: not found; the run has no hall of fame to promote"
        )
    _, candidates = read_hall_of_fame(run_dir.hall_of_fame_path)
    if not candidates:
        raise RunDirError(
            f"{run_dir.hall_of_fame_path}: the hall of fame is empty (no feasible strategy was "
            "found); nothing to promote — run a longer or larger search"
        )
    config = read_resolved_config(run_dir.config_path)
    inputs = load_market(config)
    _check_datasets(manifest, inputs, run_dir)
    return RunInputs(run_dir, manifest, config, inputs, candidates, LineageStore(run_dir).read())


def _check_datasets(manifest: RunManifest, inputs: MarketInputs, run_dir: RunDir) -> None:
    loaded = {record["name"]: record for record in inputs.datasets}
    for record in manifest.data:
        name = record.get("name", "")
        found = loaded.get(name)
        expected = record.get("content_hash", "")
        if found is None or found["content_hash"] != expected:
            actual = "missing" if found is None else found["content_hash"][:19] + "…"
            raise DataError(
                f"dataset {name!r}: content hash {actual}, expected {expected[:19]}… "
                f"({run_dir.run_json_path}); the holdout must be the bars the run was split "
                "on — restore the original data to promote this run"
            )


def no_promoted_specs(run: Path) -> str:
    """Return why a run directory has nothing to trade (promoted none, or never promoted)."""
    if (run / "promotion.json").is_file():
        return (
            f"{run}: its promotion promoted none of the candidates (see {run / 'report.html'}); "
            "there is no promoted spec to trade"
        )
    if not (run / "run.json").is_file():
        return f"{run}: not a run directory (expected runs/<id> with a run.json)"
    return f"{run}: no promoted/*.json (run evolve promote on it first)"
