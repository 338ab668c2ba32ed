"""Write the API reference pages from the package's own ``__all__`` lists.

``docs/conf.py`` calls :func:`write_api_pages` at every build, so the reference
follows the package as it is: a name in ``sklship.__all__`` is documented once,
as ``sklship.NAME``; every other public name is documented once, in the module
that defines it, and mentioned in the other modules that re-export it. A
module is public when no part of its dotted name starts with an underscore.
"""

import importlib
import pkgutil
import shutil
from pathlib import Path

PACKAGE = "sklship"
SKIP_MODULES = {f"{PACKAGE}.__main__"}


def public_modules(package=PACKAGE):
    """Dotted names of the package's public modules and subpackages, sorted."""
    pkg = importlib.import_module(package)
    names = []
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        parts = info.name.split(".")[1:]
        if info.name in SKIP_MODULES or any(part.startswith("_") for part in parts):
            continue
        names.append(info.name)
    return sorted(names)


def _key(name, obj):
    # Small constants share identities (the int 2), so the name is part of it.
    return name, id(obj)


def _canonical_places(modules):
    """Map (name, id) of every public object to the module documenting it."""
    top = importlib.import_module(PACKAGE)
    places = {_key(name, getattr(top, name)): PACKAGE for name in top.__all__}
    listed = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            listed.setdefault(_key(name, obj), (name, obj, []))[2].append(module_name)
    for key, (_name, obj, listing) in listed.items():
        if key in places:
            continue
        defined_in = getattr(obj, "__module__", None)
        if defined_in in listing:
            places[key] = defined_in
        else:  # constants: the deepest module listing them defines them
            places[key] = max(listing, key=lambda m: (m.count("."), m))
    return places


_PLACES = {}


def canonical_name(dotted):
    """The documented name of the public object at ``dotted``, or None.

    ``sklship.scenes.scan.scan_scene`` gives ``sklship.scan_scene``: the same
    object, documented once at the top level; a bare name gives the one public
    object of that name, if there is only one. Used to resolve
    cross-references that name an object by another of its import paths.
    """
    if not _PLACES:
        return None
    if "." not in dotted:  # a bare name: resolve it when it names one object only
        places = {f"{place}.{name}" for (name, _), place in _PLACES.items() if name == dotted}
        return places.pop() if len(places) == 1 else None
    if not dotted.startswith(PACKAGE + "."):
        return None
    module_name, _, name = dotted.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return None
    place = _PLACES.get(_key(name, obj))
    return None if place is None else f"{place}.{name}"


def _title(text, char):
    return f"{text}\n{char * len(text)}\n"


def _summary(module_name, names):
    lines = [f".. currentmodule:: {module_name}", "", ".. autosummary::",
             "   :toctree: generated/", ""]
    lines += [f"   {name}" for name in names]
    return "\n".join(lines) + "\n"


def write_api_pages(out_dir):
    """Write ``index.rst`` and one page per public module into ``out_dir``.

    Returns the documented module names. Pages written by an earlier build
    are removed first, so a module that moved leaves no stale page behind.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    modules = public_modules()
    places = _canonical_places(modules)
    _PLACES.clear()
    _PLACES.update(places)
    top = importlib.import_module(PACKAGE)

    index = [
        ".. This file is written by docs/_api_pages.py at every build.", "",
        ".. _api:", "", _title("API reference", "="),
        f"Everything below is imported from ``{PACKAGE}`` or one of its public",
        "modules. The names of the top level are the ones to start with; each",
        "is documented once, where it is first listed.", "",
        _title(f"Top level: ``{PACKAGE}``", "-"),
        f".. automodule:: {PACKAGE}", "   :no-members:", "   :no-inherited-members:", "",
        _summary(PACKAGE, sorted(top.__all__, key=str.lower)),
        _title("Modules", "-"),
        ".. currentmodule:: None", "",
    ]
    # A subpackage and its modules get a section; lone modules share one.
    groups = {}
    for name in modules:
        groups.setdefault(name.split(".")[1], []).append(name)
    lone = [names[0] for names in groups.values() if len(names) == 1]
    for names in groups.values():
        if len(names) > 1:
            index += [_title(f"``{names[0]}``", "~"), ".. autosummary::", ""]
            index += [f"   {name}" for name in names] + [""]
    if lone:
        if len(lone) < len(modules):
            index += [_title("Other modules", "~")]
        index += [".. autosummary::", ""] + [f"   {name}" for name in lone] + [""]
    index += ["", ".. toctree::", "   :hidden:", "   :maxdepth: 1", ""]
    index += [f"   {name}" for name in modules]
    (out_dir / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")

    for module_name in modules:
        module = importlib.import_module(module_name)
        own, elsewhere = [], []
        for name in getattr(module, "__all__", ()):
            place = places[_key(name, getattr(module, name))]
            (own if place == module_name else elsewhere).append((name, place))
        page = [
            ".. This file is written by docs/_api_pages.py at every build.", "",
            _title(f"``{module_name}``", "="),
            f".. automodule:: {module_name}", "   :no-members:",
            "   :no-inherited-members:", "",
        ]
        if own:
            page.append(_summary(module_name, sorted((n for n, _ in own), key=str.lower)))
        if elsewhere:
            refs = ", ".join(f":obj:`~{place}.{name}`" for name, place in sorted(elsewhere))
            page += [f"Also importable from ``{module_name}``: {refs}.", ""]
        if not own and not elsewhere:
            page += ["This module has no public names of its own.", ""]
        (out_dir / f"{module_name}.rst").write_text("\n".join(page) + "\n", encoding="utf-8")
    return modules
