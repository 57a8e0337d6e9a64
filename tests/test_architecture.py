"""The project's shape: layers imported one way, each heavy dependency behind one fence.

Read from the source with :mod:`ast`: every module of the library (``forecasting``), the
application's services (``forecasting_app``), the flows and the command, and every import they
make, also those inside functions (the lazy imports that keep ``import forecasting`` cheap),
except those under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from forecasting.forecaster import Forecaster
from forecasting.parameters import (
    DEFAULTS,
    SCALERS,
    ForecasterParameters,
    ModelParameters,
    TrainParameters,
)
from forecasting.scaling import SeriesScaler
from forecasting_app.config import ModelConfig, TrainConfig

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forecasting", "forecasting_app", "flows")
COMMAND = "forecasting_app.cli"


def _layer(module: str) -> int:
    """0 the library, 1 the application's services, 2 the flows, 3 the command."""
    if module == COMMAND:
        return 3
    return {"forecasting": 0, "forecasting_app": 1, "flows": 2}[module.split(".")[0]]


LAYERS = ("the library", "the services", "the flows", "the command")


def _under(*prefixes: str) -> Callable[[str], bool]:
    return lambda m: any(m == p or m.startswith(f"{p}.") for p in prefixes)


# Where each heavy dependency may be imported (full module names).
ALLOWED = {
    "mlflow": _under("forecasting.tracking"),
    "keras": _under("forecasting.nn"),
    "tensorflow": _under("forecasting.nn"),
    "prefect": _under("flows"),
    "prefect_dask": _under("flows"),
    "prefect_ray": _under("flows"),
    "sqlalchemy": _under("forecasting.store"),
    "alembic": _under("forecasting.store"),
}


def _module_name(path: Path) -> str:
    """``forecasting/nn/fitting.py`` → ``forecasting.nn.fitting``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
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
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            # `from forecasting import numpy_rnn` imports the module forecasting.numpy_rnn, and
            # of the package only what its `__init__` needs, which is read on its own.
            if not named <= MODULES.keys():
                found.add(node.module)
            found.update(named)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


MODULES = {
    _module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
}


def _internal_graph() -> dict[str, set[str]]:
    return {
        name: {i for i in _imports(path) if i in MODULES and i != name}
        for name, path in MODULES.items()
    }


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


def test_every_package_is_read() -> None:
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert {COMMAND, "flows.train", "forecasting_app.scheduled", "forecasting.nn.fitting"} <= set(
        MODULES
    )


def test_imports_flow_one_way() -> None:
    cycle = _cycle(_internal_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_each_layer_imports_only_the_layers_below_it() -> None:
    upward = sorted(
        f"{name} ({LAYERS[_layer(name)]}) imports {target} ({LAYERS[_layer(target)]})"
        for name, targets in _internal_graph().items()
        for target in targets
        if _layer(target) > _layer(name)
    )
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("dependency", sorted(ALLOWED))
def test_each_heavy_dependency_enters_through_its_fence(dependency: str) -> None:
    offenders = sorted(
        name
        for name, path in MODULES.items()
        if any(i == dependency or i.startswith(f"{dependency}.") for i in _imports(path))
        and not ALLOWED[dependency](name)
    )
    assert not offenders, f"{dependency} imported outside its fence by {offenders}"


def test_inference_imports_no_estimator() -> None:
    graph = _internal_graph()
    reachable, todo = set(), ["forecasting.inference"]
    while todo:
        for target in graph[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    assert not reachable & {"forecasting.forecaster", "forecasting.transformers"}
    assert not any(_under("forecasting.nn", "forecasting.tracking")(m) for m in reachable)
    # What loading a Predictor imports (fitting a linear reference may import scikit-learn).
    loaded = ("forecasting.inference", *reachable)
    heavy = {i.split(".")[0] for m in loaded for i in _imports(MODULES[m], at_import=True)}
    assert not heavy & {"sklearn", "keras", "tensorflow", "mlflow"}


def test_the_readme_draws_every_public_module_in_its_layer() -> None:
    """The README's architecture diagram names each public module under its layer's heading."""
    text = (ROOT / "README.md").read_text()
    diagram = text.split("## Architecture", 1)[1].split("```", 2)[1]
    drawn: dict[str, set[int]] = {}
    layer = -1
    for line in diagram.splitlines():
        if heading := re.match(r"^(\w[\w.]*)/?\s", line):
            layer = _layer(heading.group(1))
        for word in re.findall(r"[a-z_][\w.]*", line):
            drawn.setdefault(word, set()).add(layer)
    missing = []
    for name in MODULES:
        short = name.split(".")[-1]
        if short.startswith("_") or ".migrations" in name or name in PACKAGES:
            continue
        where = drawn.get(short, set()) | drawn.get(name, set())
        if _layer(name) not in where:
            missing.append(f"{name} (in {LAYERS[_layer(name)]})")
    assert not missing, "not drawn in its layer in the README:\n" + "\n".join(missing)


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
