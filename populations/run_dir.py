"""The run directory (DESIGN §4): its paths, the ``run.json`` manifest, run lookup, resume guard.

Layout of ``<runs-root>/<run-id>/``: ``config.toml``, ``run.json``, ``checkpoints/``,
``lineage.parquet/`` (a directory of per-generation part files), ``hall_of_fame.json``,
``events.jsonl``, ``summary.md`` and, after promotion, ``promoted/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fitness.data.atomic import fsync_dir, write_text_atomic
from populations.errors import ResumeMismatchError, RunDirError

logger = logging.getLogger(__name__)

RUN_STATUSES = ("running", "completed", "stopped_early", "interrupted", "failed")
FINISHED_STATUSES = ("completed", "stopped_early")
"""Statuses of a run that ended by itself (a resume with the same settings has nothing to do)."""
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HASH_PREFIX = 12


def utc_timestamp(now: datetime | None = None) -> str:
    """Return ``now`` (default: the current time) as ISO-8601 UTC text, e.g. ``…T20:14:55Z``."""
    moment = datetime.now(UTC) if now is None else _as_utc(now, "now")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime, found naive {moment}")
    return moment.astimezone(UTC)


class RunExtension(BaseModel):
    """One entry of ``run.json``'s ``extensions``: a resume that changed the generation total or
    the patience (``gp.generations``, ``gp.patience``), e.g. continuing a completed or
    early-stopped run.
    """

    model_config = ConfigDict(extra="forbid")

    at: str
    from_generation: int = Field(ge=-1)
    from_status: str
    previous_n_generations: int = Field(ge=0)
    n_generations: int = Field(ge=0)
    previous_patience: int = Field(ge=0)
    patience: int = Field(ge=0)

    @field_validator("from_status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        return _known_status(value)


def _known_status(value: str) -> str:
    if value not in RUN_STATUSES:
        raise ValueError(f"expected one of {', '.join(RUN_STATUSES)}, found {value!r}")
    return value


class RunManifest(BaseModel):
    """Contents of ``run.json``: identity, provenance and progress of one run.

    Unlike strategy specs, ``run.json`` may hold wall-clock times: ``elapsed_seconds`` is the
    engine's running time summed over every session (start and resumes) up to the last write,
    ``extensions`` the resumes that changed the generation total or the patience (oldest
    first; absent in files written before they existed). Assigning a field
    (``manifest.status = "completed"``) validates the new value; write the manifest again with
    :meth:`RunDir.write_manifest` to persist it.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    run_id: str
    seed: int
    status: str
    created_at: str
    updated_at: str
    data: list[dict[str, str]]
    config_hash: str
    package_versions: dict[str, str]
    generation: int = Field(default=-1, ge=-1)
    n_generations: int = Field(ge=0)
    n_evaluated: int = Field(default=0, ge=0)
    elapsed_seconds: float = Field(default=0.0, ge=0.0)
    extensions: list[RunExtension] = Field(default_factory=list)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        return _known_status(value)


class RunDir:
    """Paths of one run directory; the only place that knows the layout.

    Parameters
    ----------
    path : Path
        The run directory (``<runs-root>/<run-id>``). Use :meth:`create` or :meth:`open`
        rather than the constructor, which checks nothing.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def run_id(self) -> str:
        """Return the run id (the directory's name)."""
        return self.path.name

    @property
    def config_path(self) -> Path:
        """Return the path of ``config.toml`` (the resolved configuration)."""
        return self.path / "config.toml"

    @property
    def run_json_path(self) -> Path:
        """Return the path of ``run.json`` (the :class:`RunManifest`)."""
        return self.path / "run.json"

    @property
    def checkpoints_dir(self) -> Path:
        """Return the directory of the per-generation checkpoints."""
        return self.path / "checkpoints"

    @property
    def lineage_path(self) -> Path:
        """Return the ``lineage.parquet`` directory (one part file per generation)."""
        return self.path / "lineage.parquet"

    @property
    def hall_of_fame_path(self) -> Path:
        """Return the path of ``hall_of_fame.json``."""
        return self.path / "hall_of_fame.json"

    @property
    def events_path(self) -> Path:
        """Return the path of ``events.jsonl``."""
        return self.path / "events.jsonl"

    @property
    def summary_path(self) -> Path:
        """Return the path of ``summary.md`` (the end-of-run report)."""
        return self.path / "summary.md"

    @property
    def promoted_dir(self) -> Path:
        """Return the directory of promoted strategy specs (``promoted/<id>.json``)."""
        return self.path / "promoted"

    @classmethod
    def create(cls, runs_root: Path, run_id: str) -> RunDir:
        """Create ``<runs_root>/<run_id>/`` and its ``checkpoints/`` directory.

        Raises
        ------
        RunDirError
            When ``run_id`` is not a plain name or the directory already exists (a run is
            never overwritten).
        """
        if not _RUN_ID.fullmatch(run_id):
            raise RunDirError(
                f"run id {run_id!r}: expected letters, digits, '.', '_' or '-' (starting with a "
                "letter or digit, at most 128 characters); choose another run id"
            )
        runs_root = Path(runs_root)
        runs_root.mkdir(parents=True, exist_ok=True)
        path = runs_root / run_id
        try:
            path.mkdir()
        except FileExistsError as e:
            raise RunDirError(
                f"{path}: run directory already exists; a run is never overwritten — resume it "
                "with --run-dir DIR --resume or choose another run id"
            ) from e
        (path / "checkpoints").mkdir()
        fsync_dir(path)
        fsync_dir(runs_root)
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """Return the run directory at ``path``.

        Raises
        ------
        RunDirError
            (a ``CheckpointError``) when ``path`` is not a directory holding ``run.json``.
        """
        path = Path(path)
        if not path.is_dir():
            raise RunDirError(
                f"{path}: not a run directory (no such directory); pass the directory that "
                "holds run.json, e.g. runs/<run-id>"
            )
        if not (path / "run.json").is_file():
            raise RunDirError(
                f"{path}: not a run directory (run.json is missing); pass the directory that "
                "holds run.json, e.g. runs/<run-id>"
            )
        return cls(path)

    def write_manifest(self, manifest: RunManifest) -> None:
        """Write ``run.json`` atomically."""
        text = json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=True)
        write_text_atomic(self.run_json_path, text + "\n")

    def read_manifest(self) -> RunManifest:
        """Read ``run.json``.

        Raises
        ------
        RunDirError
            Naming the file when it is missing, not JSON, or fails validation.
        """
        path = self.run_json_path
        try:
            payload = json.loads(path.read_text("utf-8"))
            return RunManifest.model_validate(payload)
        except (OSError, UnicodeDecodeError) as e:
            raise RunDirError(f"{path}: cannot read the run manifest ({e})") from e
        except json.JSONDecodeError as e:
            raise RunDirError(
                f"{path}: invalid JSON at line {e.lineno} column {e.colno} ({e.msg}); "
                "expected the run manifest written by evolve"
            ) from e
        except ValidationError as e:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in item['loc']) or '(top level)'}: {item['msg']}"
                for item in e.errors()
            )
            raise RunDirError(f"{path}: invalid run manifest: {fields}") from e

    def write_config(self, toml_text: str) -> None:
        """Write the resolved configuration to ``config.toml`` atomically."""
        write_text_atomic(self.config_path, toml_text)


def new_run_id(seed: int, now: datetime, *, suffix: str | None = None) -> str:
    """Return a new run id ``YYYYMMDD-HHMMSS-s<seed>-<suffix>`` (UTC time of ``now``).

    Ids made here sort lexicographically in creation order (to the second); the 4-hex-digit
    random ``suffix`` separates runs started in the same second with the same seed.

    Parameters
    ----------
    seed : int
        The run seed (>= 0).
    now : datetime
        Timezone-aware start time.
    suffix : str, optional
        Fixed suffix (tests, reproducible names); default 4 random hex digits.
    """
    moment = _as_utc(now, "now")
    if seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, found {seed}")
    tail = secrets.token_hex(2) if suffix is None else suffix
    run_id = f"{moment:%Y%m%d-%H%M%S}-s{seed}-{tail}"
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"suffix: expected letters, digits, '.', '_' or '-', found {suffix!r}")
    return run_id


def list_runs(runs_root: Path) -> list[tuple[RunDir, RunManifest]]:
    """Return every run under ``runs_root`` with its manifest, oldest first (by run id).

    Directories without ``run.json`` are not runs and are skipped silently; a run whose
    ``run.json`` cannot be read is skipped with a logged warning. A missing ``runs_root``
    gives an empty list.
    """
    runs_root = Path(runs_root)
    if not runs_root.is_dir():
        return []
    runs = []
    for path in sorted(runs_root.iterdir(), key=lambda p: p.name):
        if not path.is_dir() or not (path / "run.json").is_file():
            continue
        run_dir = RunDir(path)
        try:
            runs.append((run_dir, run_dir.read_manifest()))
        except RunDirError as e:
            logger.warning("skipping %s: %s", path, e)
    return runs


def latest_run(runs_root: Path) -> RunDir | None:
    """Return the newest run under ``runs_root``: the one with the greatest run id.

    Run ids from :func:`new_run_id` start with the UTC start time, so the greatest id is the
    most recently started run. Only directories holding a readable ``run.json`` count;
    ``None`` when there is none.
    """
    runs = list_runs(runs_root)
    return runs[-1][0] if runs else None


def _dataset_problems(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[str]:
    problems = []
    old_by_name = {entry.get("name", ""): entry for entry in old}
    new_by_name = {entry.get("name", ""): entry for entry in new}
    for name, before in old_by_name.items():
        after = new_by_name.get(name)
        if after is None:
            problems.append(f"dataset {name!r} of the run is no longer in the configuration")
            continue
        old_hash, new_hash = before.get("content_hash", ""), after.get("content_hash", "")
        if old_hash != new_hash:
            problems.append(
                f"dataset {name!r} changed: content hash expected {old_hash[:_HASH_PREFIX]}…, "
                f"found {new_hash[:_HASH_PREFIX]}…"
            )
        for key in sorted((set(before) | set(after)) - {"name", "content_hash"}):
            if before.get(key) != after.get(key):
                problems.append(
                    f"dataset {name!r}: {key} expected {before.get(key)!r}, "
                    f"found {after.get(key)!r}"
                )
    for name in new_by_name:
        if name not in old_by_name:
            problems.append(f"dataset {name!r} is new (the run did not use it)")
    return problems


def check_resume(
    manifest: RunManifest,
    *,
    data: list[dict[str, str]],
    config_hash: str,
    changed_keys: Sequence[str] = (),
) -> None:
    """Refuse to resume a run whose data or result-affecting configuration changed.

    Parameters
    ----------
    manifest : RunManifest
        The run's ``run.json``.
    data : list of dict
        The datasets the resumed run would use, as in ``RunManifest.data``
        (``{"name", "symbol", "timeframe", "content_hash"}``); matched by ``name``.
    config_hash : str
        sha256 of the resumed run's result-affecting resolved configuration.
    changed_keys : sequence of str
        Config keys the caller found different (named in the message).

    Raises
    ------
    ResumeMismatchError
        (exit code 2) naming every changed dataset (name, old and new content-hash prefix)
        and every changed config key.
    """
    problems = _dataset_problems(manifest.data, data)
    if changed_keys:
        keys = ", ".join(sorted(set(changed_keys)))
        problems.append(f"result-affecting config values changed: {keys}")
    elif config_hash != manifest.config_hash:
        problems.append(
            "the result-affecting configuration changed: config hash expected "
            f"{manifest.config_hash[:_HASH_PREFIX]}…, found {config_hash[:_HASH_PREFIX]}…"
        )
    if problems:
        raise ResumeMismatchError(
            f"cannot resume run {manifest.run_id} (run.json): "
            + "; ".join(problems)
            + ". Resume with the original data and configuration (only the number of "
            "generations, the worker count and memory settings may change, and the patience may "
            "be raised), or start a new run without --resume"
        )


def config_digest(values: Mapping[str, object]) -> str:
    """Return the sha256 (hex) of a resolved configuration's canonical JSON (keys sorted).

    Pass only the result-affecting values (leave out e.g. ``n_generations`` and ``workers``,
    which may change on resume).
    """
    text = json.dumps(values, sort_keys=True, allow_nan=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def changed_config_keys(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    """Return the dotted keys whose values differ between two nested configurations, sorted.

    A key present on one side only counts as changed. Nested mappings (TOML tables) are
    compared key by key: ``{"costs": {"taker_fee": …}}`` gives ``"costs.taker_fee"``.
    """
    changed: list[str] = []
    _collect_changes(old, new, "", changed)
    return sorted(changed)


def _collect_changes(
    old: Mapping[str, object], new: Mapping[str, object], prefix: str, changed: list[str]
) -> None:
    for key in set(old) | set(new):
        name = f"{prefix}{key}"
        before, after = old.get(key, _MISSING), new.get(key, _MISSING)
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            _collect_changes(before, after, f"{name}.", changed)
        elif before != after or type(before) is not type(after):
            changed.append(name)


_MISSING = object()
