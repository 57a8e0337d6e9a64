"""The package's shape: one-way imports, heavy dependencies behind one module each, small modules.

Read from the source with :mod:`ast`: every import counts, also those inside functions (the
lazy imports that keep ``import forecasting`` cheap), except those under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from forecasting.config import ModelConfig, TrainConfig
from forecasting.forecaster import Forecaster
from forecasting.parameters import (
    DEFAULTS,
    SCALERS,
    ForecasterParameters,
    ModelParameters,
    TrainParameters,
)
from forecasting.scaling import SeriesScaler

PACKAGE = Path(__file__).resolve().parent.parent / "forecasting"
# Where each heavy dependency may be imported (module names below `forecasting.`).
ALLOWED = {
    "mlflow": lambda m: m == "tracking" or m.startswith("tracking."),
    "keras": lambda m: m in {"networks", "classifier", "fitting", "devices", "persistence"},
    "tensorflow": lambda m: m in {"networks", "classifier", "fitting", "devices", "persistence"},
}
MAX_LINES = 400


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
    assert lines <= MAX_LINES, (
        f"forecasting/{name} has {lines} lines; split it by responsibility (about "
        f"{MAX_LINES} at most)"
    )


def test_the_config_sections_are_the_declared_parameters() -> None:
    assert issubclass(ModelConfig, ModelParameters)
    assert issubclass(TrainConfig, TrainParameters)
    assert set(ModelConfig.model_fields) == set(ModelParameters.model_fields)
    assert set(TrainConfig.model_fields) == set(TrainParameters.model_fields)


def test_every_declared_parameter_is_a_forecaster_parameter_with_its_default() -> None:
    signature = inspect.signature(Forecaster).parameters
    assert set(signature) - set(ForecasterParameters.model_fields) == {
        "freq",
        "season_length",
        "verbose",
    }
    for name in ForecasterParameters.model_fields:
        assert signature[name].default == getattr(DEFAULTS, name), name


@pytest.mark.parametrize("method", SCALERS)
def test_every_declared_scaler_fits(method: str) -> None:
    values = np.array([[1.0], [3.0], [2.0]])
    scaler = SeriesScaler(method=method).fit(values)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(values)), values)
