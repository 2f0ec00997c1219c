"""The README stays a short guide whose commands CI runs, and every relative link in the docs leads somewhere."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAIN_JOB = "pip install -e . && python experiments/run_dlsr.py --fold 1"
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest'
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md")), ROOT / "datasets" / "README.md"]


def test_readme_is_a_short_guide_with_the_two_setup_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert MAIN_JOB in text and TEST_COMMAND in text


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = TEST_COMMAND.replace("pip install -e", "pip install -q -e")
    assert command in ci
    assert command.replace(" -q", "") in README.read_text()


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files_of_the_repository(document):
    targets = [t for t in LINK.findall(document.read_text()) if "://" not in t and not t.startswith("mailto:")]
    missing = [t for t in targets if not (document.parent / t).exists()]
    assert not missing, f"{document.relative_to(ROOT)} links to missing {missing}"
