"""Hostile input, damaged folders and concurrent writers, class by class.

Each class of fault is stopped in one place: the scenario schema and loader (strict types, finite
numbers, UTF-8 regular files, `extends` kept in its places, errors that never echo another file),
`safe_folder_name` (a scenario's name as a folder), `FolderLock` (one owner per folder, tried
with real processes) and `results.verify` / `DamagedFolderError` (damaged parts and manifests
named, never trusted). Where the command line already reaches the fix, the test goes through it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_clean_error
from hypothesis import given
from hypothesis import strategies as st

from results.layout import MAX_NAME_LENGTH, DamagedFolderError, completed_chunks, safe_folder_name
from results.lock import (
    LOCK_NAME,
    FolderLock,
    FolderLockedError,
    FolderLockError,
    LockHolder,
    check_unlocked,
)
from results.manifest import read_manifest, read_run_manifest, write_manifest
from results.store import RunFolderWriter, read_table
from results.synthetic import COUNTRIES, POLES, synthetic_record
from results.verify import discard_parts, part_expectations, verified_chunks, verify_part
from simulation.scenario import ScenarioError, load_scenario, read_toml

ROOT = Path(__file__).resolve().parents[1]


# --- strict types, finite numbers ---------------------------------------------------------------


@pytest.fixture
def rejected(cli, write_scenario):
    """A scenario `body` (extending world-2022) that `csto run` must refuse in one clean line."""

    def check(body: str, *fragments: str, command: str = "run") -> str:
        path = write_scenario(body)
        args = ("--runs", 2, "--no-plots", "--out", "out") if command == "run" else ()
        result = cli(command, path, *args)
        assert_clean_error(result, str(path), *fragments)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not Path("out").exists() and not Path("runs").exists()
        return result.stderr

    return check


STRICT_TYPES = {
    "number as text": ('[world]\noverstretch = "0.5"\n', "world.overstretch", "valid number"),
    "boolean as integer": ("months = true\n", ": months:", "valid integer"),
    "float as integer": ("[alliance]\nsummit_month = 11.0\n", "summit_month", "valid integer"),
    "text as boolean": ('[agents.RUS]\nfixed_posture = "yes"\n', "fixed_posture", "boolean"),
    "integer as boolean": ("[agents.RUS]\nfixed_posture = 1\n", "fixed_posture", "boolean"),
    "boolean as posture": ("[agents.BLR]\nposture = true\n", "agents.BLR.posture", "integer"),
    "float as posture": ("[agents.BLR]\nposture = 1.0\n", "agents.BLR.posture", "integer"),
    "number as code text": ("[agents.BLR]\nname = 5\n", "agents.BLR.name", "valid string"),
    "shock sets text": (
        '[[shocks]]\nmonth = "2022-03"\nset = { "world.overstretch" = "0.5" }\n',
        ".set.world.overstretch",
        "valid number",
    ),
    "control characters": ('name = "a\\u001b[2Jb"\n', ": name:", "control characters"),
}


@pytest.mark.parametrize("case", STRICT_TYPES, ids=list(STRICT_TYPES))
def test_no_silent_coercion(rejected, case):
    body, *fragments = STRICT_TYPES[case]
    rejected(body, *fragments, command="validate")


def test_an_integer_where_a_number_is_expected_stays_fine(write_scenario):
    path = write_scenario("[agents.BLR]\nbeta_trade = 3\n[world]\noverstretch = 0\n")
    scenario = load_scenario(path)
    assert scenario.agents["BLR"].beta_trade == 3.0
    assert scenario.world.overstretch == 0.0


def test_an_integer_added_to_an_integer_key_stays_an_integer(write_scenario):
    path = write_scenario(
        '[[shocks]]\nmonth = "2022-03"\nadd = { "alliance.freeze_after_months" = 2 }\n'
    )
    shock = load_scenario(path).shocks[-1]
    assert shock.add == {"alliance.freeze_after_months": 2}
    assert isinstance(shock.add["alliance.freeze_after_months"], int)


NON_FINITE_IN_FILE = {
    "inf weight": ("[alliance.observer_weights]\nrequester = inf\n", "requester"),
    "nan in range": ("[world]\noverstretch = nan\n", "world.overstretch"),
    "-inf in a pair table": ("[trade.BLR]\nRUS = -inf\n", "trade.BLR.RUS"),
    "inf shock set": (
        '[[shocks]]\nmonth = "2022-03"\nset = { "dynamics.reaction_target" = inf }\n',
        ".set.dynamics.reaction_target",
    ),
    "nan shock add": (
        '[[shocks]]\nmonth = "2022-03"\nadd = { "world.overstretch" = nan }\n',
        ".add.world.overstretch",
    ),
}


@pytest.mark.parametrize("case", NON_FINITE_IN_FILE, ids=list(NON_FINITE_IN_FILE))
def test_no_nan_or_infinity_in_a_file(rejected, case):
    body, key = NON_FINITE_IN_FILE[case]
    message = rejected(body, key)
    assert "finite number" in message


@pytest.mark.parametrize(
    "setting",
    [
        "alliance.observer_weights.requester=inf",
        "world.overstretch=nan",
        "agents.BLR.beta_loyalty=-inf",
        "aggression.threshold=+inf",
    ],
)
def test_no_nan_or_infinity_in_set(cli, setting):
    result = cli("run", "baseline", "--set", setting, "--runs", 2, "--no-plots", "--out", "out")
    assert_clean_error(result, f"error: --set: {setting.split('=')[0]}:", "finite number")
    assert not Path("out").exists()


# --- files that are not scenario text ------------------------------------------------------------


def _non_utf8(path: Path) -> None:
    path.write_bytes(b'extends = "world-2022"\nname = "caf\xe9"\n')


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


NOT_TEXT = {
    "non-UTF-8": (_non_utf8, "not UTF-8 text (byte 0xe9 at offset 34)"),
    "binary": (_binary, "a binary file, not TOML text"),
    "fifo": (_fifo, "not a regular file"),
    "folder": (_directory, "not a regular file"),
}


@pytest.mark.parametrize("case", NOT_TEXT, ids=list(NOT_TEXT))
def test_a_file_that_is_not_scenario_text_is_one_line(cli, workdir, case):
    make, fragment = NOT_TEXT[case]
    path = workdir / "bad.toml"
    make(path)
    result = cli("run", path, "--runs", 2, "--no-plots", "--out", "out")
    assert_clean_error(result, f"{path.resolve()}: {fragment}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (workdir / "out").exists()


def test_a_non_utf8_file_that_is_extended_names_that_file(cli, workdir):
    _non_utf8(workdir / "base.toml")
    (workdir / "leaf.toml").write_text('extends = "base.toml"\n', encoding="utf-8")
    result = cli("run", workdir / "leaf.toml", "--runs", 2, "--no-plots", "--out", "out")
    assert_clean_error(result, str(workdir / "base.toml"), "not UTF-8")


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes('\ufeffextends = "world-2022"\nname = "bom"\n'.encode())
    assert load_scenario(path).name == "bom"


def test_an_oversized_file_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr("simulation.scenario.MAX_SCENARIO_BYTES", 64)
    path = tmp_path / "big.toml"
    path.write_text('extends = "world-2022"\n' + "# padding\n" * 20, encoding="utf-8")
    with pytest.raises(ScenarioError, match="larger than"):
        read_toml(path)


def test_deep_nesting_is_a_syntax_error(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="TOML syntax error"):
        read_toml(path)


# --- extends stays in its places, errors never echo another file ---------------------------------


SECRET = "s3cr3t-token-7f1c"


@pytest.fixture
def places(workdir, monkeypatch):
    """cwd = work/; a scenario folder below it; a valid scenario and a secret file outside."""
    work = workdir / "work"
    (work / "mine").mkdir(parents=True)
    outside = workdir / "outside"
    outside.mkdir()
    (outside / "base.toml").write_text('extends = "world-2022"\n', encoding="utf-8")
    (outside / "secret.toml").write_text(f'[credentials]\ntoken = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.chdir(work)
    return work, outside


def _leaf(folder: Path, extends: str, body: str = "") -> Path:
    path = folder / "leaf.toml"
    path.write_text(f"extends = {json.dumps(extends)}\n{body}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "target",
    ["../../outside/base.toml", "{outside}/base.toml", "../../outside/base", "../mine/x/../../.."],
)
def test_extends_cannot_escape(cli, places, target):
    work, outside = places
    leaf = _leaf(work / "mine", target.format(outside=outside))
    result = cli("validate", leaf)
    assert_clean_error(result, f"{leaf}: extends:")
    assert SECRET not in result.stderr


def test_extends_through_a_link_cannot_escape(cli, places):
    work, outside = places
    (work / "mine" / "base.toml").symlink_to(outside / "base.toml")
    leaf = _leaf(work / "mine", "base.toml")
    assert_clean_error(cli("validate", leaf), f"{leaf}: extends:", "lies outside")
    named = _leaf(work / "mine", "base")
    assert_clean_error(cli("validate", named), f"{named}: extends:", "lies outside")


def test_extends_reaches_siblings_the_current_folder_and_shipped_scenarios(cli, places):
    work, _ = places
    (work / "shared.toml").write_text('extends = "history-2022"\n', encoding="utf-8")
    (work / "mine" / "sibling.toml").write_text('extends = "shared.toml"\n', encoding="utf-8")
    leaf = _leaf(work / "mine", "sibling")
    result = cli("validate", leaf)
    assert result.exit_code == 0, result.stderr
    assert len(load_scenario(leaf).shocks) == len(load_scenario("history-2022").shocks)


def test_an_escaping_extends_never_shows_the_file(cli, places):
    work, outside = places
    leaf = _leaf(work / "mine", str(outside / "secret.toml"))
    result = cli("validate", leaf)
    assert_clean_error(result, "extends")
    assert SECRET not in result.stderr and "credentials" not in result.stderr


@pytest.mark.parametrize(
    "base",
    [
        f'[credentials]\ntoken = "{SECRET}"\n',  # not a scenario at all
        f'extends = "world-2022"\n[world]\noverstretch = {{ token = "{SECRET}" }}\n',
        f'extends = "world-2022"\n[agents]\nBLR = ["{SECRET}"]\n',
    ],
    ids=["no scenario", "table for a number", "array for a table"],
)
def test_an_error_never_prints_the_content_of_an_extended_file(cli, places, base):
    work, _ = places
    (work / "other.toml").write_text(base, encoding="utf-8")
    leaf = _leaf(work / "mine", "../other.toml")
    result = cli("validate", leaf)
    assert_clean_error(result)
    assert SECRET not in result.stderr, result.stderr


def test_an_error_names_the_file_that_holds_the_key(cli, places):
    work, _ = places
    base = work / "mine" / "base.toml"
    base.write_text('extends = "world-2022"\n[agents.BLR]\nrationality = "high"\n', "utf-8")
    leaf = _leaf(work / "mine", "base", '[agents.ARM]\nbeta_trade = 2.0\n[[shocks]]\nmonth = "x"\n')
    result = cli("validate", leaf)
    assert_clean_error(result, f"{base}: agents.BLR.rationality:", "'high'")
    base.write_text('extends = "world-2022"\n', "utf-8")
    result = cli("validate", leaf)
    assert_clean_error(result, f"{leaf}: shocks[", ".month:")


# --- a scenario's name as a folder ----------------------------------------------------------------

SAFE = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME_LENGTH - 1}}}$")


@given(st.text())
def test_any_name_becomes_one_safe_path_component(name):
    safe = safe_folder_name(name)
    assert SAFE.match(safe), safe
    assert ".." not in safe and "/" not in safe and "\\" not in safe
    assert Path(safe).name == safe and Path(safe).parts == (safe,)
    assert safe_folder_name(safe) == safe


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("history-2022", "history-2022"),
        ("../../etc/passwd", "etc-passwd"),
        ("/abs/path", "abs-path"),
        ("..", "scenario"),
        ("", "scenario"),
        (".hidden", "hidden"),
        ("-rf", "rf"),
        ("café au lait", "cafe-au-lait"),
        ("a..b", "a.b"),
        ("x" * 500, "x" * MAX_NAME_LENGTH),
    ],
)
def test_safe_folder_name_examples(name, expected, tmp_path):
    assert safe_folder_name(name) == expected
    assert (tmp_path / safe_folder_name(name)).resolve().parent == tmp_path.resolve()


# --- one owner per folder, with real processes ----------------------------------------------------

HOLDER = """
import sys
from results.lock import FolderLock
lock = FolderLock(sys.argv[1], create=True).acquire()
print("locked", flush=True)
sys.stdin.readline()
lock.release()
"""

CONTENDER = """
import sys
from results.lock import FolderLock, FolderLockedError
try:
    FolderLock(sys.argv[1]).acquire()
except FolderLockedError as error:
    print(error)
    sys.exit(3)
"""


def _python(code: str, *args: object, env_extra: dict | None = None, **options) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **(env_extra or {}),
    }
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(command, env=env, text=True, **options)


@pytest.fixture
def holder(tmp_path):
    """A real process holding the lock of tmp_path/run until its stdin gets a line."""
    folder = tmp_path / "run"
    process = _python(HOLDER, folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip() == "locked"
        yield folder, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_a_second_writer_is_refused_naming_the_holder(holder):
    folder, process = holder
    with pytest.raises(FolderLockedError) as caught:
        FolderLock(folder).acquire()
    message = str(caught.value)
    assert f"pid {process.pid} on {socket.gethostname()} since " in message
    assert caught.value.holder.pid == process.pid
    with pytest.raises(FolderLockedError, match=f"pid {process.pid}"):
        check_unlocked(folder)
    contender = _python(CONTENDER, folder, stdout=subprocess.PIPE)
    out, _ = contender.communicate()
    assert contender.returncode == 3 and f"pid {process.pid}" in out

    process.stdin.write("\n")
    process.stdin.flush()
    assert process.wait() == 0
    assert not (folder / LOCK_NAME).exists()
    assert not folder.exists()  # it created the folder and left it empty
    with FolderLock(folder, create=True) as lock:
        assert lock.note is None and (folder / LOCK_NAME).exists()
    assert not (folder / LOCK_NAME).exists()


def test_a_killed_holder_s_lock_is_taken_over(holder):
    folder, process = holder
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert (folder / LOCK_NAME).exists()
    note = check_unlocked(folder)
    assert note is not None and f"pid {process.pid}" in note
    with FolderLock(folder) as lock:
        assert f"took over the stale lock of pid {process.pid}" in lock.note
        assert "gone" in lock.note
        held = LockHolder.from_json((folder / LOCK_NAME).read_text())
        assert held.pid == os.getpid()
    assert not (folder / LOCK_NAME).exists()


def test_one_process_cannot_own_a_folder_twice(tmp_path):
    with FolderLock(tmp_path), pytest.raises(FolderLockedError, match=f"pid {os.getpid()}"):
        FolderLock(tmp_path).acquire()


def _plant(folder: Path, host: str, age: float) -> None:
    holder = LockHolder(4_000_000, host, "2026-01-01T00:00:00Z", time.time() - age, "feed")
    (folder / LOCK_NAME).write_text(holder.to_json())


def test_a_lock_from_another_machine_is_honoured_until_it_is_old(tmp_path):
    _plant(tmp_path, "elsewhere.example", age=3600)
    with pytest.raises(FolderLockedError, match="on elsewhere.example .*another machine"):
        FolderLock(tmp_path).acquire()
    _plant(tmp_path, "elsewhere.example", age=8 * 86400)
    with FolderLock(tmp_path) as lock:
        assert "another machine older than 7 days" in lock.note


def test_an_unreadable_lock_file_is_never_guessed_away(tmp_path):
    (tmp_path / LOCK_NAME).write_text("not json")
    with pytest.raises(FolderLockError, match=re.escape(str(tmp_path / LOCK_NAME))):
        FolderLock(tmp_path).acquire()
    assert (tmp_path / LOCK_NAME).read_text() == "not json"


def test_release_leaves_a_lock_that_is_no_longer_its_own(tmp_path):
    lock = FolderLock(tmp_path).acquire()
    _plant(tmp_path, socket.gethostname(), age=0)
    lock.release()
    assert (tmp_path / LOCK_NAME).exists()


def test_a_folder_the_lock_created_goes_if_left_empty(tmp_path):
    folder = tmp_path / "new" / "run"
    with FolderLock(folder, create=True):
        assert folder.is_dir()
    assert not folder.exists()
    with FolderLock(folder, create=True):
        (folder / "manifest.json").write_text("{}")
    assert (folder / "manifest.json").exists() and not (folder / LOCK_NAME).exists()
    with pytest.raises(FolderLockError, match="no such folder"):
        FolderLock(tmp_path / "absent").acquire()
    (tmp_path / "file").write_text("")
    with pytest.raises(FolderLockError, match="not a folder"):
        FolderLock(tmp_path / "file", create=True).acquire()


# --- damaged parts and manifests ----------------------------------------------------------------

CHUNK, RUNS, MONTHS = 3, 7, 2  # parts 0 and 1 of 3 runs, part 2 of 1


def _manifest(fmt: str = "parquet", points: int = 0) -> dict:
    manifest = {
        "scenario": "synthetic",
        "resolved_scenario": {
            "agents": {c: {} for c in COUNTRIES},
            "poles": {p: {} for p in POLES},
        },
        "scenario_sha256": "0" * 64,
        "seed": 1,
        "runs": RUNS,
        "months": MONTHS,
        "chunk_size": CHUNK,
        "format": fmt,
        "status": "partial",
    }
    if points:
        manifest["sweep"] = {"points": [{"world.overstretch": 0.1 * p} for p in range(points)]}
    return manifest


def _folder(path: Path, fmt: str = "parquet", points: int = 0) -> Path:
    """A partial folder of the synthetic batch with every planned part written."""
    manifest = _manifest(fmt, points)
    writer = RunFolderWriter(path, fmt)
    for part, expected in part_expectations(manifest).items():
        record = synthetic_record(expected.size, MONTHS, run_offset=expected.offset, seed=part)
        writer.write_chunk(part, record, expected.point)
    write_manifest(path, manifest)
    writer.close()
    return path


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_whole_folder_verifies(tmp_path, fmt):
    folder = _folder(tmp_path / "f", fmt)
    assert verified_chunks(folder, read_run_manifest(folder)) == ({0, 1, 2}, {})
    assert verified_chunks(folder, read_run_manifest(folder), full=True) == ({0, 1, 2}, {})
    sweep = _folder(tmp_path / "s", fmt, points=2)
    assert verified_chunks(sweep, read_run_manifest(sweep)) == (set(range(6)), {})


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1" + os.urandom(200))


DAMAGE = {"truncated": _truncate, "zero-byte": _empty, "garbage": _garbage}


@pytest.mark.parametrize("table", ["metrics", "agents", "relations", "events"])
@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_part_is_named_not_trusted(tmp_path, damage, table):
    folder = _folder(tmp_path / "f")
    part = folder / f"{table}.parquet" / "part-00001.parquet"
    DAMAGE[damage](part)
    good, bad = verified_chunks(folder, read_run_manifest(folder))
    assert good == {0, 2}
    assert bad[1].startswith(f"{table}.parquet/part-00001.parquet: ")
    assert 1 in completed_chunks(folder)  # what existence alone would have trusted
    with pytest.raises(DamagedFolderError) as caught:
        read_table(folder, table)
    assert caught.value.path == part and str(part) in str(caught.value)


def test_a_csv_part_damaged(tmp_path):
    folder = _folder(tmp_path / "f", "csv")
    part = folder / ".parts" / "agents" / "part-00002.csv"
    part.write_text(part.read_text().splitlines()[0] + "\n")  # the header only
    good, bad = verified_chunks(folder, read_run_manifest(folder))
    assert good == {0, 1}
    assert bad[2] == f"{Path('.parts/agents/part-00002.csv')}: 0 rows, expected 10"
    _empty(part)
    assert "empty file" in verified_chunks(folder, read_run_manifest(folder))[1][2]
    with pytest.raises(DamagedFolderError, match="part-00002.csv: empty file"):
        read_table(folder, "agents")


def test_parts_that_do_not_belong_are_bad(tmp_path):
    folder = _folder(tmp_path / "f")
    manifest = read_run_manifest(folder)
    writer = RunFolderWriter.reopen(folder, "parquet")
    writer.write_chunk(1, synthetic_record(2, MONTHS, run_offset=3))  # too few runs
    writer.write_chunk(2, synthetic_record(1, MONTHS, run_offset=0))  # another chunk's runs
    writer.write_chunk(7, synthetic_record(1, MONTHS, run_offset=6))  # not in the plan
    good, bad = verified_chunks(folder, manifest)
    assert good == {0}
    assert bad[1] == "metrics.parquet/part-00001.parquet: 4 rows, expected 6"
    assert bad[2] == "metrics.parquet/part-00002.parquet: run 0..0, expected 6..6"
    assert "not a chunk of this batch" in bad[7]
    discard_parts(folder, bad)
    assert verified_chunks(folder, manifest) == ({0}, {})


def test_a_chunk_written_halfway_is_bad_and_a_missing_one_is_neither(tmp_path):
    folder = _folder(tmp_path / "f")
    for table in ("relations", "events"):
        (folder / f"{table}.parquet" / "part-00002.parquet").unlink()
    for table in ("metrics", "agents", "relations", "events"):
        (folder / f"{table}.parquet" / "part-00000.parquet").unlink()
    good, bad = verified_chunks(folder, read_run_manifest(folder))
    assert good == {1} and list(bad) == [2]
    assert bad[2] == "relations.parquet/part-00002.parquet: missing"


def test_a_sweep_part_of_another_point_is_bad(tmp_path):
    folder = _folder(tmp_path / "s", points=2)
    manifest = read_run_manifest(folder)
    expected = part_expectations(manifest)[4]  # point 1, chunk 1
    writer = RunFolderWriter.reopen(folder, "parquet")
    writer.write_chunk(4, synthetic_record(3, MONTHS, run_offset=3), point=0)
    reason = verify_part(folder, 4, "parquet", expected)
    assert reason == "metrics.parquet/part-00004.parquet: point 0..0, expected 1..1"


def test_a_foreign_parquet_file_is_bad(tmp_path):
    import pandas as pd

    folder = _folder(tmp_path / "f")
    part = folder / "agents.parquet" / "part-00000.parquet"
    pd.DataFrame({"run": ["a"], "month": [0]}).to_parquet(part)
    assert "columns ['run', 'month'], expected" in verified_chunks(folder, _manifest())[1][0]


MANIFEST_DAMAGE = {
    "garbage": (b"\xff\xfegarbage", "not UTF-8 text"),
    "zero-byte": (b"", "empty (0 bytes)"),
    "truncated": (b'{"runs": 7, "months"', "not valid JSON"),
    "not an object": (b"[1, 2]", "expected a JSON object, got list"),
}


@pytest.mark.parametrize("case", MANIFEST_DAMAGE, ids=list(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_named(tmp_path, case):
    folder = _folder(tmp_path / "f")
    content, reason = MANIFEST_DAMAGE[case]
    (folder / "manifest.json").write_bytes(content)
    with pytest.raises(DamagedFolderError) as caught:
        read_manifest(folder)
    assert str(caught.value).startswith(f"{folder / 'manifest.json'}: {reason}")


@pytest.mark.parametrize("case", MANIFEST_DAMAGE, ids=list(MANIFEST_DAMAGE))
def test_resume_of_a_damaged_manifest_is_one_line(cli, tmp_path, case):
    folder = _folder(tmp_path / "f")
    (folder / "manifest.json").write_bytes(MANIFEST_DAMAGE[case][0])
    assert_clean_error(cli("run", "--resume", folder), "manifest.json", MANIFEST_DAMAGE[case][1])


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("runs", None, "no 'runs' key"),
        ("chunk_size", 0, "'chunk_size' must be a positive integer, got 0"),
        ("months", "2", "'months' must be a positive integer"),
        ("format", "xlsx", "'format' must be one of ['parquet', 'csv']"),
        ("resolved_scenario", None, "no 'resolved_scenario' key"),
        ("sweep", {"points": []}, "'sweep' must hold a non-empty list"),
    ],
)
def test_a_manifest_missing_keys_is_named(tmp_path, key, value, reason):
    folder = _folder(tmp_path / "f")
    manifest = read_manifest(folder)
    if value is None:
        del manifest[key]
    else:
        manifest[key] = value
    write_manifest(folder, manifest)
    with pytest.raises(DamagedFolderError, match=re.escape(reason)):
        read_run_manifest(folder)
    with pytest.raises(DamagedFolderError, match="manifest.json"):
        verified_chunks(folder, manifest)


# --- bounds and the defects still to wire into the batch commands --------------------------------


@pytest.mark.parametrize("months", [1201, 100_000])
def test_a_horizon_beyond_the_schema_is_refused(cli, months):
    result = cli("run", "baseline", "--months", months, "--runs", 2, "--no-plots", "--out", "out")
    assert_clean_error(result, "error: --months: ", "less than or equal to 1200", str(months))
    assert not Path("out").exists()
    assert_clean_error(cli("show", "baseline", "--months", months), "--months")


def test_a_scenario_name_cannot_write_outside_the_runs_folder(cli, workdir, write_scenario):
    path = write_scenario('name = "../escaped"\n')
    result = cli("run", path, "--runs", 2, "--months", 1, "--no-plots", "-q")
    assert result.exit_code == 0, result.output
    assert not list(workdir.glob("escaped-*"))
    assert [p.name[: len("escaped-")] for p in (workdir / "runs").iterdir()] == ["escaped-"]


def test_resume_never_marks_complete_a_folder_whose_tables_cannot_be_read(cli, workdir):
    folder = workdir / "r"
    args = ("run", "baseline", "--runs", 2, "--months", 1, "--no-plots", "-q", "--out", folder)
    assert cli(*args).exit_code == 0
    manifest = read_manifest(folder)
    write_manifest(folder, {**manifest, "status": "partial", "chunks_completed": []})
    _empty(folder / "agents.parquet" / "part-00000.parquet")
    result = cli("run", "--resume", folder, "--no-plots", "-q")
    assert result.exit_code == 0, result.output
    assert read_manifest(folder)["status"] == "complete"
    assert len(read_table(folder, "agents")) == 2 * len(COUNTRIES)


# --- killed pools leave nothing behind -----------------------------------------------------------


def _marked_processes(marker: str) -> list[int]:
    """Processes whose environment carries `marker` (scanned in /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_workers_end_with_a_killed_parent(tmp_path):
    marker = f"CSTO_TEST_MARKER={os.getpid()}-{time.time_ns()}"
    name, value = marker.split("=")
    out = tmp_path / "out"
    command = (
        "run baseline --runs 40000 --months 24 --workers 2 --tables metrics --no-plots -q "
        f"--yes --out {out}"
    )
    code = "import sys; from cli import main; main(sys.argv[1:])"
    parent = _python(code, *command.split(), env_extra={name: value}, stderr=subprocess.PIPE)
    try:
        part = out / "metrics.parquet" / "part-00000.parquet"
        for _ in range(1200):  # a part is written once the workers are running
            if part.exists() or parent.poll() is not None:
                break
            time.sleep(0.1)
        assert parent.poll() is None, parent.stderr.read()
        assert len(_marked_processes(marker)) >= 3  # the parent and its two workers
        parent.kill()
        parent.wait()
        for _ in range(100):
            if not _marked_processes(marker):
                break
            time.sleep(0.1)
        assert _marked_processes(marker) == []
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        for pid in _marked_processes(marker):
            os.kill(pid, signal.SIGKILL)


# --- the batch commands: one owner, cost, bounds, damage, disk ----------------------------------

QUICK = ("--runs", 2, "--months", 1, "--no-plots", "-q")


def _quick_run(cli, out: Path, *extra: object):
    return cli("run", "baseline", *QUICK, "--out", out, *extra)


def test_a_run_into_a_folder_a_live_process_holds_is_refused(cli, holder):
    folder, process = holder
    result = _quick_run(cli, folder, "--force")  # --force into a live folder
    assert_clean_error(result, str(folder), f"pid {process.pid} on {socket.gethostname()}")
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME]  # nothing removed or written
    assert_clean_error(_quick_run(cli, folder), "already exists")
    assert_clean_error(cli("run", "--resume", folder), "no manifest.json")


def test_two_real_runs_into_one_folder(workdir):
    """Two csto processes with --force into one folder: one writes it, the other exits 2."""
    out = workdir / "shared"
    code = "import sys; from cli import main; main(sys.argv[1:])"
    args = ("run", "baseline", "--runs", 3000, "--months", 12, "--tables", "metrics")
    runs = [
        _python(code, *args, "--seed", seed, "--no-plots", "-q", "--force", "--out", out,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for seed in (1, 2)
    ]  # fmt: skip
    results = [(p.wait(), p.stderr.read()) for p in runs]
    for process in runs:
        process.stdout.close()
        process.stderr.close()
    codes = sorted(code for code, _ in results)
    manifest = read_manifest(out)
    assert manifest["status"] == "complete"
    assert manifest["runs_completed"] == manifest["runs"] == 3000
    assert len(read_table(out, "metrics")) == 3000 * 12  # the runs of one seed only
    assert codes in ([0, 0], [0, 2])  # one after the other, or the second refused
    for code, stderr in results:
        if code == 2:
            assert "is in use by pid" in stderr and len(stderr.strip().splitlines()) == 1


def test_a_stale_lock_is_taken_over_with_a_note(cli, workdir):
    folder = workdir / "stale"
    folder.mkdir()
    _plant(folder, socket.gethostname(), age=60)  # pid 4,000,000: not alive
    result = _quick_run(cli, folder, "--force")
    assert result.exit_code == 0, result.output
    assert "note: " in result.stderr and "took over the stale lock of pid 4000000" in result.stderr
    assert read_manifest(folder)["status"] == "complete"
    assert not (folder / LOCK_NAME).exists()


def test_compare_into_a_folder_a_live_process_holds_is_refused(cli, workdir, holder):
    folder, process = holder
    for name in ("a", "b"):
        assert _quick_run(cli, workdir / name).exit_code == 0
    result = cli("compare", workdir / "a", workdir / "b", "--out", folder, "--force", "-q")
    assert_clean_error(result, f"pid {process.pid}")


COSTLY = {
    "runs": (("run", "baseline", "--runs", 10_000_000), "more than 2.0 h"),
    "months x runs": (("run", "baseline", "--runs", 400_000, "--months", 1200), "of disk"),
    "grid": (
        ("sweep", "baseline", "--vary", "world.overstretch=0:1:1000", "--runs", 10_000),
        "more than",
    ),
    "lhs": (
        (
            "sweep",
            "baseline",
            "--vary",
            "world.overstretch=0:1",
            "--design",
            "lhs",
            "--points",
            100_000,
            "--runs",
            1000,
        ),
        "more than",
    ),  # fmt: skip
    "grid values": (("sweep", "baseline", "--vary", "world.overstretch=0:0.5:100000000"), "N <="),
    "grid points": (
        (
            "sweep",
            "baseline",
            "--vary",
            "world.overstretch=0:1:1000",
            "--vary",
            "agents.BLR.beta_loyalty=0:1:1000",
        ),
        "1,000,000 points",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", COSTLY, ids=list(COSTLY))
def test_cost_is_checked_before_anything_is_allocated_or_written(cli, workdir, case):
    args, fragment = COSTLY[case]
    started = time.perf_counter()
    result = cli(*args, "--out", "out")
    assert_clean_error(result, fragment)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (workdir / "out").exists() and not (workdir / "runs").exists()
    assert time.perf_counter() - started < 30  # refused, not planned (a loose bound)


def test_yes_runs_beyond_the_limits(cli, workdir, monkeypatch):
    import batches.cost

    monkeypatch.setattr(batches.cost, "MAX_BYTES", 1.0)
    assert_clean_error(_quick_run(cli, workdir / "a"), "--yes", "of disk")
    assert not (workdir / "a").exists()
    result = cli("run", "baseline", "--runs", 2, "--months", 1, "--no-plots", "--yes", "--out", "b")
    assert result.exit_code == 0, result.output
    assert "estimated: 2 replication-months" in result.stdout


def test_the_estimate_is_of_the_order_of_a_real_folder(tmp_path):
    from batches.cost import estimate

    folder = tmp_path / "r"
    assert invoke_run(folder, "--runs", 200, "--months", 12, "--relations-every", 3) == 0
    written = sum(p.stat().st_size for p in folder.rglob("*.parquet") if p.is_file())
    guess = estimate(200, 12, relations_every=3).bytes
    assert guess / 3 < written < guess * 3
    tables = estimate(200, 12, tables=("metrics",)).bytes
    assert tables < guess / 5


def invoke_run(folder: Path, *args: object) -> int:
    from conftest import invoke

    return invoke("run", "baseline", *args, "--no-plots", "-q", "--out", folder).exit_code


SEEDED = {
    "run": ("run", "baseline", "--runs", 2),
    "sweep": ("sweep", "baseline", "--vary", "world.overstretch=0:1:2"),
    "compare": ("compare", "."),
    "history": ("history", "--runs", 2),
}


@pytest.mark.parametrize("command", SEEDED, ids=list(SEEDED))
@pytest.mark.parametrize("seed", ["-1", "1.5", "x"])
def test_seed_is_a_non_negative_integer(cli, command, seed):
    result = cli(*SEEDED[command], "--seed", seed)
    assert_clean_error(result, "error: ", "'--seed'", seed)
    assert len(result.stderr.strip().splitlines()) == 1


USAGE = {
    "unknown option": (("run", "baseline", "--bogus"), "--bogus"),
    "missing argument": (("compare",), "REFERENCE"),
    "bad choice": (("run", "baseline", "--format", "xlsx"), "'--format'"),
    "not a number": (("run", "baseline", "--runs", "many"), "'--runs'"),
    "unknown command": (("bogus",), "bogus"),
    "missing value": (("run", "baseline", "--out"), "--out"),
}


@pytest.mark.parametrize("case", USAGE, ids=list(USAGE))
def test_a_usage_error_is_one_line(cli, case):
    args, fragment = USAGE[case]
    result = cli(*args)
    assert_clean_error(result, fragment)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


SWEEP_FILES = {
    "not UTF-8": (b'scenario = "baseline"\ndescription = "\xff"\n', "UTF-8"),
    "outside": (b'scenario = "/etc/x.toml"\n[vary]\n"world.overstretch" = [0, 1]\n', "extends"),
    "negative seed": (
        b'scenario = "baseline"\nseed = -3\n[vary]\n"world.overstretch" = [0, 1]\n',
        "non-negative",
    ),
}


@pytest.mark.parametrize("case", SWEEP_FILES, ids=list(SWEEP_FILES))
def test_a_bad_sweep_file_is_one_line(cli, workdir, case):
    content, fragment = SWEEP_FILES[case]
    path = workdir / "s.toml"
    path.write_bytes(content)
    from batches.sweeps import load_sweep_file

    with pytest.raises(ScenarioError, match=re.escape(fragment)):
        load_sweep_file(path)
    result = cli("sweep", path, "--out", "out")
    assert_clean_error(result, str(path))
    assert not (workdir / "out").exists()


def test_a_sweep_file_that_is_a_fifo_does_not_hang(cli, workdir):
    path = workdir / "s.toml"
    os.mkfifo(path)
    assert_clean_error(cli("sweep", path), str(path))
    assert_clean_error(cli("validate", path), str(path), "not a regular file")


@pytest.fixture
def finished(cli, workdir):
    """Two finished run folders a and b."""
    for name in ("a", "b"):
        assert _quick_run(cli, workdir / name).exit_code == 0
    return workdir / "a", workdir / "b"


READERS = {
    "compare": lambda cli, a, b: cli("compare", a, b, "--out", "c", "-q"),
    "plot": lambda cli, a, b: cli("plot", a),
}


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
@pytest.mark.parametrize("case", MANIFEST_DAMAGE, ids=list(MANIFEST_DAMAGE))
def test_every_reader_names_a_damaged_manifest(cli, finished, reader, case):
    a, b = finished
    (a / "manifest.json").write_bytes(MANIFEST_DAMAGE[case][0])
    result = READERS[reader](cli, a, b)
    assert_clean_error(result, str(a / "manifest.json"), MANIFEST_DAMAGE[case][1])


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
def test_every_reader_names_a_manifest_missing_keys(cli, finished, reader):
    a, b = finished
    write_manifest(a, {"status": "complete"})
    result = READERS[reader](cli, a, b)
    assert_clean_error(result, str(a / "manifest.json"), "no 'runs' key")


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_compare_and_the_api_name_a_damaged_part(cli, finished, damage):
    from batches.api import open_folder

    a, b = finished
    part = a / "metrics.parquet" / "part-00000.parquet"
    DAMAGE[damage](part)
    assert_clean_error(cli("compare", a, b, "--out", "c", "-q"), str(part))
    with pytest.raises(DamagedFolderError, match=re.escape(str(part))):
        open_folder(a).metrics  # noqa: B018 - the lazy table is read here


def test_the_api_names_a_damaged_manifest(finished):
    from batches.api import open_folder
    from batches.errors import RunFolderError

    a, _ = finished
    (a / "manifest.json").write_bytes(b"[]")
    with pytest.raises(RunFolderError, match=re.escape(str(a / "manifest.json"))):
        open_folder(a)


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS", "EACCES"])
def test_disk_full_or_read_only_is_one_line_and_resumable(cli, workdir, monkeypatch, code):
    import errno

    from batches.chunks import CHUNK_SIZE

    written = []
    original = RunFolderWriter.write_chunk

    def failing(self, part, record, point=None):
        if written:
            target = self.path / "metrics.parquet" / f".part-{part:05d}.parquet.123.tmp"
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), str(target))
        written.append(part)
        return original(self, part, record, point)

    monkeypatch.setattr(RunFolderWriter, "write_chunk", failing)
    out = workdir / "r"
    runs = CHUNK_SIZE + 1
    result = cli("run", "baseline", "--runs", runs, "--months", 1, "--no-plots", "-q", "--out", out)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert f"csto run --resume {out}" in lines[0]
    assert str(out / "metrics.parquet" / "part-00001.parquet") in lines[0]
    assert ("disk full writing" in lines[0]) == (code == "ENOSPC")
    manifest = read_manifest(out)
    assert manifest["status"] == "partial"
    assert manifest["runs_completed"] == CHUNK_SIZE  # kept current as chunks finish
    assert not (out / LOCK_NAME).exists()
    monkeypatch.setattr(RunFolderWriter, "write_chunk", original)
    assert cli("run", "--resume", out, "--no-plots", "-q").exit_code == 0
    assert read_manifest(out)["status"] == "complete"
    assert len(read_table(out, "metrics")) == runs


def test_a_part_damaged_during_the_run_keeps_the_folder_partial(cli, workdir, monkeypatch):
    original = RunFolderWriter.write_chunk

    def damaging(self, part, record, point=None):
        original(self, part, record, point)
        _truncate(self.path / "agents.parquet" / f"part-{part:05d}.parquet")

    monkeypatch.setattr(RunFolderWriter, "write_chunk", damaging)
    out = workdir / "r"
    result = _quick_run(cli, out)
    assert result.exit_code == 1, result.output
    assert "agents.parquet/part-00000.parquet" in result.stderr
    assert "Traceback" not in result.output
    assert read_manifest(out)["status"] == "partial"
    monkeypatch.setattr(RunFolderWriter, "write_chunk", original)
    resumed = cli("run", "--resume", out, "--no-plots", "-q")
    assert resumed.exit_code == 0, resumed.output
    assert read_manifest(out)["status"] == "complete"


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_resume_reruns_damaged_parts_and_names_them(cli, workdir, damage):
    out = workdir / "r"
    assert _quick_run(cli, out).exit_code == 0
    manifest = read_manifest(out)
    write_manifest(out, {**manifest, "status": "partial"})
    part = out / "relations.parquet" / "part-00000.parquet"
    DAMAGE[damage](part)
    result = cli("run", "--resume", out, "--no-plots", "-q")
    assert result.exit_code == 0, result.output
    assert f"note: {out}: relations.parquet/part-00000.parquet: " in result.stderr
    assert read_manifest(out)["status"] == "complete"
    assert len(read_table(out, "relations")) > 0


def test_an_unreachable_scheduler_leaves_no_folder(cli, workdir, monkeypatch):
    pytest.importorskip("distributed")
    import batches.executors

    def unreachable(workers, scheduler):
        raise OSError(f"Timed out trying to connect to {scheduler} after 30 s")

    monkeypatch.setattr(batches.executors, "dask_client", unreachable)
    args = ("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    result = cli("run", "baseline", *QUICK, *args, "--out", "r")
    assert result.exit_code == 1 and "nothing was written" in result.stderr, result.output
    assert not (workdir / "r").exists()
    sweep = cli("sweep", "baseline", "--vary", "world.overstretch=0:1:2", *QUICK, *args)
    assert sweep.exit_code == 1, sweep.output
    assert not list((workdir / "runs").glob("*"))  # the sweep's folder is gone


def test_a_saved_scenario_extends_its_parent_where_extends_reaches(tmp_path, monkeypatch):
    from dashboard.save import SaveError, write_scenario

    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "mine.toml").write_text('extends = "world-2022"\n[world]\noverstretch = 0.2\n')
    path, _ = write_scenario(
        saved, "child", str(saved / "mine.toml"), {"agents.GEO.beta_trade": 1.0}
    )
    assert read_toml(path)["extends"] == "mine.toml"
    monkeypatch.chdir(ROOT)  # the saved file loads from anywhere: its parent is beside it
    assert load_scenario(path).world.overstretch == 0.2

    outside = tmp_path.parent / f"{tmp_path.name}-outside.toml"
    outside.write_text('extends = "world-2022"\n')
    try:
        monkeypatch.chdir(tmp_path)
        with pytest.raises(SaveError, match="outside the save folder"):
            write_scenario(saved, "lost", str(outside), {})
        assert not (saved / "lost.toml").exists()
    finally:
        outside.unlink()


def test_a_folder_another_process_creates_meanwhile_is_taken_as_a_folder(tmp_path, monkeypatch):
    """Two runs into one new folder: the other process may create it between this one's look
    and its mkdir. That folder is a folder, not "not a folder" (a check-then-act race)."""
    import pathlib

    folder = tmp_path / "new"
    real_is_dir = pathlib.Path.is_dir
    looked = []

    def is_dir_then_created_elsewhere(path):
        answer = real_is_dir(path)
        if path == folder and not looked:
            looked.append(True)
            folder.mkdir()  # the other process, just after this one looked
        return answer

    monkeypatch.setattr(pathlib.Path, "is_dir", is_dir_then_created_elsewhere)
    with FolderLock(folder, create=True):
        assert (folder / LOCK_NAME).exists()
    assert looked
