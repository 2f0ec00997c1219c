"""The methods registry: one line per method. The catalogue, ``tfagiqa convert``, ``make_tables.py``,
``make_figures.py``, the run scripts and the custom-object registration all read it.

A method is one folder, ``tfagiqa/methods/<name>/``, whose ``__init__.py`` defines ``METHOD`` (a :class:`Method`,
nothing heavy imported), and one line in :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tfagiqa.errors import TfagiqaError

REGISTRY: dict[str, str] = {
    "dlsr": "tfagiqa.methods.dlsr",
    "ipiqa": "tfagiqa.methods.ipiqa",
    "sfiqa": "tfagiqa.methods.sfiqa",
    "hyperiqa": "tfagiqa.methods.hyperiqa",
    "imagereward": "tfagiqa.methods.imagereward",
    "baselines": "tfagiqa.methods.baselines",
    "clipiqa": "tfagiqa.methods.clipiqa",
    "hps": "tfagiqa.methods.hps",
    "niqe": "tfagiqa.methods.niqe",
    "brisque": "tfagiqa.methods.brisque",
    "cnniqa": "tfagiqa.methods.cnniqa",
    "dbcnn": "tfagiqa.methods.dbcnn",
    "clipscore": "tfagiqa.methods.clipscore",
    "resnet50": "tfagiqa.methods.resnet50",
    "pickscore": "tfagiqa.methods.pickscore",
}


@dataclass(frozen=True)
class Method:
    """What the package knows of one method: its paper, where its parts live, what it offers.

    Module names are relative to the method's package (``"scorers"`` → ``tfagiqa.methods.<name>.scorers``).
    """

    name: str
    title: str
    summary: str
    paper: str | None = None  # the ``paper`` value of its result rows; None for methods without paper tables
    run_script: str | None = None  # the experiments/ script that runs its paper's experiments
    scorers: str | None = None  # module registering its catalogue entries
    tables: str | None = None  # module with make_tables(results, out_dir, paper_csv=None) -> [paths]
    figures: str | None = None  # module with make_figures(results, out_dir, paper_csv=None) -> [paths]
    converters: Mapping[str, str] = field(default_factory=dict)  # `tfagiqa convert NAME` → module (HELP, add_arguments, run)
    benchmark: str | None = None  # module with the benchmark adapter (tfagiqa.benchmark.adapters says what it holds)
    package: str = ""  # the method's package (``__name__`` of its ``__init__``)

    def module(self, part: str):
        """Import one of the method's modules (``"scorers"``, ``"tables"``, …) by its relative or full name."""
        name = part if part.startswith("tfagiqa.") else f"{self.package}.{part}"
        return importlib.import_module(name)

    @property
    def paper_csv(self) -> Path:
        """The transcription of its paper's reported numbers (``paper.csv`` in the method's folder, package data)."""
        return Path(str(resources.files(self.package).joinpath("paper.csv")))

    @property
    def doc(self) -> str:
        """The method's reference page in the repository."""
        return f"docs/methods/{self.name}.md"


def get_method(name: str) -> Method:
    """The registered method ``name`` (its ``METHOD`` record), or an error listing the known ones."""
    if name not in REGISTRY:
        raise TfagiqaError(f"unknown method {name!r}; known methods: {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name]).METHOD


def list_methods() -> list[str]:
    """Names of every registered method, in registry order."""
    return list(REGISTRY)


def methods() -> list[Method]:
    """Every registered method's record, in registry order."""
    return [get_method(name) for name in REGISTRY]


def for_paper(paper: str) -> Method:
    """The method whose paper tables are keyed ``paper`` (the ``paper`` column of result rows)."""
    for method in methods():
        if method.paper == paper:
            return method
    raise TfagiqaError(f"no method reports paper {paper!r}; papers: {', '.join(papers())}")


def papers() -> list[str]:
    """The ``paper`` keys of every method with paper tables."""
    return [m.paper for m in methods() if m.paper]


def benchmarkable() -> list[Method]:
    """The records of every method with a benchmark adapter, in registry order."""
    return [m for m in methods() if m.benchmark]


def converters() -> dict[str, str]:
    """Every ``tfagiqa convert`` name → its module, over all methods."""
    out: dict[str, str] = {}
    for method in methods():
        for name, module in method.converters.items():
            out[name] = module if module.startswith("tfagiqa.") else f"{method.package}.{module}"
    return out
