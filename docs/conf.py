"""Sphinx configuration of the sklship documentation.

Build the site, offline, with warnings as errors::

    python -m sphinx -W -b html docs docs/_build/html

The API reference is generated at every build from ``sklship.__all__`` and the
``__all__`` of every public module (``docs/api/``, see ``_api_pages.py``), so it
follows the package's layout without hand-kept lists. The gallery runs the
``examples/**/plot_*.py`` scripts (synthetic data, a few seconds each); the
other scripts, which need the real data, are shown but not run.
"""

import logging
import os
import sys
from pathlib import Path

# Quiet TensorFlow before anything imports it; the gallery runs in this process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "agg")
# The gallery's many small fits make TensorFlow warn about retracing; not news.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the checkout this file belongs to, whatever is installed.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

from _api_pages import canonical_name, write_api_pages  # noqa: E402
from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import sklship  # noqa: E402

# -- Project ---------------------------------------------------------------

project = "sklship"
author = "the sklship developers"
copyright = "the sklship developers; ShipsNet imagery CC BY-SA 4.0, Planet Labs / ShipsNet"
release = sklship.__version__
version = ".".join(release.split(".")[:2])

# -- General ---------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_intersphinx",
    "_templates",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/**/*.ipynb",
    "auto_examples/**/*.py",
    "auto_examples/**/*.zip",
    "auto_examples/*.zip",
    "**/*.codeobj.json",
]
default_role = "obj"
# Headings in Markdown pages (the changelog) get anchors.
myst_heading_anchors = 2

# -- API reference ---------------------------------------------------------

API_MODULES = write_api_pages(DOCS / "api")

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
autoclass_content = "class"
autodoc_member_order = "groupwise"

numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Keep the documented members that sklship defines.

    Skips members inherited from scikeras, scikit-learn or Keras (their
    docstrings follow other conventions) and sklship overrides of Keras hooks
    that have no docstring of their own.
    """
    if skip or what != "class":
        return skip
    module = getattr(obj, "__module__", None)
    if module is None:
        func = getattr(obj, "fget", None) or getattr(obj, "__func__", None)
        module = getattr(func, "__module__", None)
    if module is not None and not module.startswith("sklship"):
        return True
    func = getattr(obj, "__func__", None) or getattr(obj, "fget", None) or obj
    if callable(func) and func.__doc__ is None:
        return True  # a Keras hook (call, get_config) without a docstring of its own
    return None


def _resolve_other_path(app, env, node, contnode):
    """Resolve ``sklship.a.b.NAME`` to where NAME is documented.

    Each object is documented once (see ``_api_pages.py``); docstrings may
    name it by another import path, such as the module that defines it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    target = target.lstrip(".~")
    candidates = [target]
    if node.get("py:module") and not target.startswith("sklship."):
        candidates.insert(0, f"{node['py:module']}.{target}")
    for candidate in candidates:
        canonical = canonical_name(candidate)
        if canonical and canonical != candidate:
            return env.get_domain("py").resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode)
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("missing-reference", _resolve_other_path)


# -- Cross-links (offline inventories only) --------------------------------

# Inventories stored in docs/_intersphinx (see the README there). A project
# whose inventory is not on disk gets no mapping rather than a download.
_INVENTORIES = {
    "python": ("https://docs.python.org/3", "python-objects.inv"),
    "numpy": ("https://numpy.org/doc/stable", "numpy-objects.inv"),
    "pandas": ("https://pandas.pydata.org/docs", "pandas-objects.inv"),
    "sklearn": ("https://scikit-learn.org/stable", "sklearn-objects.inv"),
    "scipy": ("https://docs.scipy.org/doc/scipy", "scipy-objects.inv"),
    "matplotlib": ("https://matplotlib.org/stable", "matplotlib-objects.inv"),
    "rasterio": ("https://rasterio.readthedocs.io/en/stable", "rasterio-objects.inv"),
    "keras": ("https://keras.io/api", "keras-objects.inv"),
    "tensorflow": ("https://www.tensorflow.org/api_docs/python", "tensorflow-objects.inv"),
    "dask": ("https://docs.dask.org/en/stable", "dask-objects.inv"),
}
intersphinx_mapping = {
    name: (url, str(DOCS / "_intersphinx" / inv))
    for name, (url, inv) in _INVENTORIES.items()
    if (DOCS / "_intersphinx" / inv).is_file()
}

# -- HTML ------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklship {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"changelog": []}
html_show_sourcelink = True

# -- Gallery ---------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],  # relative to this folder
    "gallery_dirs": ["auto_examples"],
    # Run the synthetic examples (plot_*.py); show the real-data ones unrun.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "subsection_order": ExplicitOrder(
        [f"../examples/{name}" for name in ("chips", "scenes", "real_data")]),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "doc_module": ("sklship",),
    "backreferences_dir": "api/backreferences",
    "reference_url": {"sklship": None},
    "remove_config_comments": True,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "plot_gallery": "True",
    # The examples run in two processes, one per core of a two-core machine:
    # each trains small networks that keep one core busy.
    "parallel": 2,
}
