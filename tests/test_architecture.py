"""The package's shape: one-way imports, heavy dependencies behind one module each, small modules.

Read from the source with :mod:`ast`: every import counts, also those inside functions (the
lazy imports that keep ``import forecasting`` cheap), except those under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from forecasting.config import ModelConfig, TrainConfig
from forecasting.devices import PRECISIONS
from forecasting.forecaster import Forecaster
from forecasting.networks import CELLS, HEADS, LOSSES
from forecasting.normalization import NORMALIZE, RESIDUAL
from forecasting.transformers import SCALERS

PACKAGE = Path(__file__).resolve().parent.parent / "forecasting"
# Where each heavy dependency may be imported (module names below `forecasting.`).
ALLOWED = {
    "mlflow": lambda m: m == "tracking" or m.startswith("tracking."),
    "keras": lambda m: m in {"networks", "fitting", "devices", "persistence"},
    "tensorflow": lambda m: m in {"networks", "fitting", "devices", "persistence"},
}
MAX_LINES = 400
# Modules still over MAX_LINES, each with its size when this list was written: they may shrink,
# not grow, until they are split by responsibility.
OVERSIZE = {
    "backtest": 423,
    "forecaster": 445,
    "inference": 466,
    "networks": 415,
    "scheduled": 440,
    "transformers": 403,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, at_import: bool = False) -> set[str]:
    """Absolute names imported by a module, outside ``if TYPE_CHECKING:`` blocks.

    ``at_import``: only those run when the module is imported, not inside functions.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if at_import and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from forecasting import numpy_rnn` imports the module forecasting.numpy_rnn.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _internal_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _imports(path):
            if imported.startswith("forecasting."):
                inner = imported.removeprefix("forecasting.")
                if inner in MODULES and inner != name:
                    targets.add(inner)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, as a path that returns to its start, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_imports_flow_one_way() -> None:
    cycle = _cycle(_internal_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("dependency", sorted(ALLOWED))
def test_each_heavy_dependency_enters_through_its_modules(dependency: str) -> None:
    offenders = sorted(
        name
        for name, path in MODULES.items()
        if any(i == dependency or i.startswith(f"{dependency}.") for i in _imports(path))
        and not ALLOWED[dependency](name)
    )
    assert not offenders, f"{dependency} imported outside its modules by {offenders}"


def test_inference_imports_no_estimator() -> None:
    graph = _internal_graph()
    reachable, todo = set(), ["inference"]
    while todo:
        for target in graph[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    assert not reachable & {"forecaster", "fitting", "networks", "transformers", "tracking"}
    # What loading a Predictor imports (fitting a linear reference may import scikit-learn).
    loaded = ("inference", *reachable)
    heavy = {i.split(".")[0] for m in loaded for i in _imports(MODULES[m], at_import=True)}
    assert not heavy & {"sklearn", "keras", "tensorflow", "mlflow"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= OVERSIZE.get(name, MAX_LINES), (
        f"forecasting/{name} has {lines} lines; split it by responsibility (about "
        f"{MAX_LINES} at most)"
    )


def test_every_config_field_of_model_and_train_is_a_forecaster_parameter() -> None:
    parameters = set(inspect.signature(Forecaster).parameters)
    fields = set(ModelConfig.model_fields) | set(TrainConfig.model_fields)
    assert fields <= parameters, f"not Forecaster parameters: {sorted(fields - parameters)}"
    assert parameters - fields == {"freq", "season_length", "verbose"}


@pytest.mark.parametrize(
    ("section", "name", "choices"),
    [
        (ModelConfig, "cell", CELLS),
        (ModelConfig, "head", HEADS),
        (ModelConfig, "scaler", SCALERS),
        (ModelConfig, "normalize", NORMALIZE),
        (ModelConfig, "residual", RESIDUAL),
        (TrainConfig, "loss", LOSSES),
        (TrainConfig, "precision", PRECISIONS),
    ],
)
def test_config_choices_are_the_estimators(section: type, name: str, choices: tuple) -> None:
    annotation = section.model_fields[name].annotation
    assert set(typing.get_args(annotation)) == set(choices)
