"""The import graph: no circle (imports inside functions count), scenes in floors."""

import ast
import graphlib
from pathlib import Path

import pytest

import sklship

ROOT = Path(sklship.__file__).parent

#: The floors of sklship.scenes, lowest first (see the package's docstring). A
#: module imports from its own floor or those below, never from above.
SCENE_FLOORS = {
    "leaves": {"grid", "tables"},
    "input": {"bands", "dates", "footprint", "stack", "source_base", "dataarray", "sources",
              "stac", "safe", "masks",
              "resolution", "geo"},
    "detection": {"suppression", "verification", "convolutional", "engines", "tiles", "defaults",
                  "settings", "scan"},
    "outputs": {"activity", "display", "export", "survey"},
}


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported(name, path):
    """The sklship modules ``name`` imports, at any depth (functions, TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from package import submodule" imports the submodule.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in MODULES)
    found.discard(name)
    return found


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def test_the_graph_sees_function_level_imports():
    # scan_scenes' workers import the scan inside functions in older layouts;
    # whatever the layout, these edges exist and must be seen.
    assert "sklship.scenes.scan" in GRAPH["sklship.scenes.survey"]
    assert "sklship.scenes.tables" in GRAPH["sklship.scenes.scan"]
    assert "sklship.estimators.persistence" in GRAPH["sklship.cli.files"]  # in a function
    assert "sklship" in GRAPH["sklship.scenes.export"]  # from .. import __version__


def test_no_import_circle():
    try:
        order = list(graphlib.TopologicalSorter(GRAPH).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")
    assert set(order) == set(MODULES)


def test_scene_modules_import_only_their_own_floor_or_below():
    floor_of = {f"sklship.scenes.{module}": level
                for level, modules in enumerate(SCENE_FLOORS.values()) for module in modules}
    scene_modules = {name for name in MODULES if name.startswith("sklship.scenes.")}
    assert scene_modules == set(floor_of), "every scenes module has a floor"
    upward = [(name, other) for name in scene_modules for other in GRAPH[name]
              if other in floor_of and floor_of[other] > floor_of[name]]
    assert upward == []
    leaves = {name for name in floor_of if floor_of[name] == 0}
    assert all(not (GRAPH[leaf] & scene_modules) for leaf in leaves)


def test_scenes_and_evaluation_do_not_import_each_other_both_ways():
    def room_imports(room, other):
        return sorted((name, target) for name in MODULES if name.startswith(room)
                      for target in GRAPH[name] if target.startswith(other))

    scenes_to_evaluation = room_imports("sklship.scenes", "sklship.evaluation")
    evaluation_to_scenes = room_imports("sklship.evaluation", "sklship.scenes")
    assert evaluation_to_scenes, "evaluation scores scans"
    assert scenes_to_evaluation == []
