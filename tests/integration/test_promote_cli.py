"""``evolve promote`` / ``evolve report`` on the command line: outputs, refusals (exit 2), reuse.

Shared helpers (a run configuration on synthetic Parquet data, the CLI runner with the promote
commands registered, an HTML text extractor) are imported by the other ``test_promote_*``
modules.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

import evolve.cli.app as cli
from evolve.cli import promote as promote_command
from evolve.config import read_resolved_config
from populations import RunDir, load_spec, read_events, read_hall_of_fame, save_spec
from tests.synthetic_markets import planted_edge_series, random_walk_series, write_bar_file

REPOSITORY = Path(__file__).resolve().parents[2]
SEEDS = REPOSITORY / "examples" / "seeds.txt"

RUN_CONFIG = """\
[data]
datasets = {datasets}

[folds]
n_discovery_folds = {folds}
holdout_fraction = {holdout}

[gp]
population = {population}
generations = {generations}
patience = 0
probe_copies = {probe_copies}
seed_templates = "{seeds}"

[run]
seed = {seed}
workers = 1
"""


def write_run_config(
    directory: Path,
    datasets: list[Path],
    *,
    population: int = 50,
    generations: int = 8,
    seed: int = 5,
    folds: int = 3,
    holdout: float = 0.3,
    probe_copies: int = 4,
) -> Path:
    """Write a run configuration on ``datasets`` (seed templates from examples/seeds.txt)."""
    path = directory / "run.toml"
    text = RUN_CONFIG.format(
        datasets=json.dumps([str(p) for p in datasets]),
        folds=folds,
        holdout=holdout,
        population=population,
        generations=generations,
        probe_copies=probe_copies,
        seeds=SEEDS.as_posix(),
        seed=seed,
    )
    path.write_text(text, "utf-8")
    return path


def evolve_main(*argv: str) -> int:
    """Run ``evolve ARGV`` in-process with promote/report registered; return the exit code."""
    if promote_command.register not in cli.COMMANDS:  # until the lead wires the commands
        cli.COMMANDS = (*cli.COMMANDS, promote_command.register)
    return cli.main(list(argv))


def evolve_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``evolve ARGV`` in-process; return (exit code, stdout, stderr)."""
    code = evolve_main(*argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_search(directory: Path, config: Path) -> Path:
    """Run ``evolve run --config CONFIG --run-dir DIRECTORY/run`` and return the run dir."""
    run_dir = directory / "run"
    assert evolve_main("run", "--config", str(config), "--run-dir", str(run_dir), "--plain") == 0
    return run_dir


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_report(path: Path) -> tuple[set[str], str]:
    """Return the element ids and the visible text (entities decoded) of an HTML report."""
    parser = _Text()
    parser.feed(path.read_text("utf-8"))
    return parser.ids, " ".join(" ".join(parser.parts).split())


def strict_json(path: Path) -> dict:
    """Return a JSON file's object, failing on NaN/Infinity (the contract writes null)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{path}: non-finite JSON number {token}")

    return json.loads(path.read_text("utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run (1 symbol with a planted edge, 150 days, population 12, 1 gen)."""
    directory = tmp_path_factory.mktemp("tiny")
    data = write_bar_file(directory, planted_edge_series(24 * 150, 31, symbol="TINYUSDT"))
    config = write_run_config(
        directory, [data], population=12, generations=1, folds=2, probe_copies=2
    )
    return run_search(directory, config)


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny run (tests may damage it)."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


def test_promote_when_run_given_then_design_outputs_and_events(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = evolve_cli(capsys, "promote", str(run_copy))

    assert code == 0, err
    assert "candidate" in out and str(run_copy / "report.html") in out
    for name in ("promotion.json", "report.html", "promotion.md"):
        assert (run_copy / name).is_file(), name
    evidence = strict_json(run_copy / "promotion.json")
    assert evidence["run_id"] == "run" and evidence["schema_version"] == 3
    assert len(evidence["decisions"]) == len(evidence["candidates"]) >= 1
    events = [event["event"] for event in read_events(run_copy / "events.jsonl")]
    assert events[-2:] == ["promotion_started", "promotion_finished"]


def test_promote_when_latest_run_under_runs_root_then_it_is_promoted(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = evolve_cli(capsys, "promote", "--runs-root", str(run_copy.parent))

    assert code == 0, err and (run_copy / "promotion.json").is_file()


def test_report_when_promotion_json_exists_then_report_regenerated(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evolve_cli(capsys, "promote", str(run_copy))[0] == 0
    html = (run_copy / "report.html").read_bytes()
    (run_copy / "report.html").unlink()
    (run_copy / "promotion.md").unlink()

    code, out, err = evolve_cli(capsys, "report", str(run_copy))

    assert code == 0, err and "report.html" in out
    assert (run_copy / "report.html").read_bytes() == html
    assert (run_copy / "promotion.md").is_file()


def test_report_when_no_promotion_json_then_exit_2_saying_promote_first(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = evolve_cli(capsys, "report", str(run_copy))

    assert code == 2 and "promotion.json: not found" in err and "Traceback" not in err


def test_promote_when_path_is_not_a_run_then_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = evolve_cli(capsys, "promote", str(tmp_path))

    assert code == 2 and "run.json is missing" in err and err.count("\n") == 1


def test_promote_when_run_unfinished_then_exit_2_saying_resume(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = RunDir(run_copy)
    manifest = run_dir.read_manifest()
    manifest.status = "interrupted"
    run_dir.write_manifest(manifest)

    code, _, err = evolve_cli(capsys, "promote", str(run_copy))

    assert code == 2 and "'interrupted'" in err and "--resume" in err
    assert not (run_copy / "promotion.json").exists()


def test_promote_when_hall_of_fame_empty_then_exit_2(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_copy / "hall_of_fame.json").write_text('{"generation": 1, "members": []}\n')

    code, _, err = evolve_cli(capsys, "promote", str(run_copy))

    assert code == 2 and "hall of fame is empty" in err


def test_promote_when_dataset_changed_then_exit_2_naming_the_dataset(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_file = Path(read_resolved_config(run_copy / "config.toml").data.datasets[0])
    backup = data_file.read_bytes()
    write_bar_file(data_file.parent, random_walk_series(24 * 150, 99, symbol="TINYUSDT"))
    try:
        code, _, err = evolve_cli(capsys, "promote", str(run_copy))
    finally:
        data_file.write_bytes(backup)

    assert code == 2 and str(data_file) in err and "content hash" in err
    assert "run.json" in err and "Traceback" not in err


def test_promote_when_bad_promotion_config_then_exit_2_naming_the_key(
    run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "strict.toml"
    path.write_text("[promotion]\ndsr_minimum = 0.99\n")

    code, _, err = evolve_cli(capsys, "promote", str(run_copy), "--config", str(path))

    assert code == 2 and "promotion.dsr_minimum" in err


def test_promote_when_config_raises_a_threshold_then_it_is_applied(
    run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "strict.toml"
    path.write_text("[promotion]\ndrawdown_budget = 0.01\nspa_max_pvalue = 0.05\n")

    code, _, err = evolve_cli(capsys, "promote", str(run_copy), "--config", str(path))

    assert code == 0, err
    evidence = strict_json(run_copy / "promotion.json")
    assert evidence["thresholds"]["drawdown_budget"] == 0.01
    names = [gate["name"] for gate in evidence["candidates"][0]["gates"]]
    assert "spa_flat" in names and "spa_buy_and_hold" in names


def test_promote_when_run_and_run_dir_differ_then_exit_2(
    run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = evolve_cli(capsys, "promote", str(run_copy), "--run-dir", str(tmp_path))

    assert code == 2 and "give one of them" in err


def test_promote_help_when_asked_then_gates_and_options_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = evolve_cli(capsys, "promote", "--help")

    assert code == 0
    for text in ("--null-runs", "--workers", "--config", "--runs-root", "DSR", "PBO"):
        assert text in out


LENIENT = """\
[promotion]
dsr_min = 0.0
psr_min = 0.0
pbo_max = 1.0
cost_stress_psr_min = 0.0
stability_min = -1000.0
concentration_psr_min = 0.0
drawdown_budget = 1.0
min_trl_confidence = 0.5
"""


def test_promote_when_rejected_on_a_later_pass_then_its_promoted_spec_is_removed(
    run_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lenient, strict = tmp_path / "lenient.toml", tmp_path / "strict.toml"
    lenient.write_text(LENIENT)
    strict.write_text("[promotion]\ndrawdown_budget = 0.0001\n")
    assert evolve_cli(capsys, "promote", str(run_copy), "--config", str(lenient))[0] == 0
    promoted = sorted((run_copy / "promoted").glob("*.json"))
    assert promoted and all(load_spec(path).state == "promoted" for path in promoted)

    code, _, err = evolve_cli(capsys, "promote", str(run_copy), "--config", str(strict))

    assert code == 0, err
    assert not any((run_copy / "promoted").glob("*.json"))
    assert strict_json(run_copy / "promotion.json")["summary"]["n_promoted"] == 0


def test_promote_when_another_runs_spec_is_promoted_then_duplicates_fail_correlation(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, members = read_hall_of_fame(run_copy / "hall_of_fame.json")
    values = {**members[0].to_dict(), "id": "f" * 16, "run_id": "another-run"}
    foreign = type(members[0]).model_validate(values).with_state("promoted")
    (run_copy / "promoted").mkdir()
    save_spec(foreign, run_copy / "promoted" / f"{foreign.id}.json")

    code, _, err = evolve_cli(capsys, "promote", str(run_copy))

    assert code == 0, err
    first = strict_json(run_copy / "promotion.json")["candidates"][0]
    gate = next(g for g in first["gates"] if g["name"] == "correlation")
    assert gate["value"] == pytest.approx(1.0) and gate["passed"] is False
    assert first["correlation"]["with"] == foreign.id and "correlation" in first["failed"]
    assert (run_copy / "promoted" / f"{foreign.id}.json").is_file()


def test_promote_when_a_promoted_spec_cannot_be_evaluated_then_exit_2_and_failed_event(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, members = read_hall_of_fame(run_copy / "hall_of_fame.json")
    values = {**members[0].to_dict(), "id": "e" * 16, "expression": "no_such_primitive(close)"}
    (run_copy / "promoted").mkdir()
    path = run_copy / "promoted" / ("e" * 16 + ".json")
    save_spec(type(members[0]).model_validate(values), path)

    code, _, err = evolve_cli(capsys, "promote", str(run_copy))

    assert code == 2 and str(path) in err and "Traceback" not in err
    events = [event["event"] for event in read_events(run_copy / "events.jsonl")]
    assert events[-2:] == ["promotion_started", "promotion_failed"]
    assert not (run_copy / "promotion.json").exists()
