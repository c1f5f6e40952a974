"""Sphinx configuration of the documentation site (docs/contributing.md says how to build it).

Built with warnings as errors: ``.venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # forecaster/ and dashboard/ from this checkout, for autodoc and sphinx-argparse

from forecaster import __version__  # noqa: E402

project = "Stock forecaster"
author = "the stock forecaster's contributors"
copyright = "the stock forecaster's contributors"
release = version = __version__

extensions = [
    "myst_nb",  # Markdown pages (MyST) and the notebooks, executed
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",  # the docstrings' Google-style "Example:" sections
    "sphinx.ext.viewcode",
    "sphinxarg.ext",  # the command-line reference, from the argparse parsers
]

exclude_patterns = ["_build", "README.md", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# --- Markdown -----------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links to sections

# --- API reference --------------------------------------------------------------------------------------------
autosummary_generate = True  # docs/api/generated/ (git-ignored), rebuilt on every build
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
add_module_names = False  # rmse(), not forecaster.evaluate.metrics.rmse(), under the module's own title
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Importing a module must not start anything: the WSGI module and the Celery app build a dashboard when
# imported, so they read a throwaway data directory while the docs are built.
os.environ.setdefault("FORECASTER_DATA_DIR", tempfile.mkdtemp(prefix="forecaster-docs-"))
suppress_warnings = [
    # autosummary imports every module, and a few re-export names from the modules they come from.
    "autosummary.import_cycle",
    # The notebooks' charts carry Plotly's JSON (for Jupyter) beside the HTML that draws them on a page
    # (plotly_mimetype+notebook); Sphinx parses every part of an output before it picks the HTML, and would
    # warn about the JSON, which no page shows.
    "mystnb.unknown_mime_type",
]

# --- Notebooks ------------------------------------------------------------------------------------------------
# notebooks/*.ipynb are copied into docs/notebooks/ (git-ignored) and executed by the build, on small data: the
# settings the test suite uses (tests/test_notebooks.py), with two epochs and eight tickers so that the charts
# have something to show. Each notebook gets its own fresh data directory. `FORECASTER_DOCS_EXECUTE=off` builds
# the pages without executing them (no outputs, no charts): for quick edits of the prose only.
NOTEBOOK_SETTINGS = {
    "NOTEBOOK_EPOCHS": "2",
    "NOTEBOOK_TICKERS": "8",
    "NOTEBOOK_OPEN_DASHBOARD": "0",
}
nb_execution_mode = os.environ.get("FORECASTER_DOCS_EXECUTE", "cache")  # cache: docs/_build/.jupyter_cache
nb_execution_timeout = 900  # seconds per cell; a run on the S&P tickers takes minutes on 2 cores
nb_execution_raise_on_error = True  # a notebook that fails fails the build
nb_merge_streams = True
nb_output_stderr = "remove"  # Spark's and JAX's start-up chatter
for name, value in NOTEBOOK_SETTINGS.items():
    os.environ.setdefault(name, value)
# Plotly's figures as self-contained HTML (plotly.js included in the page), so that they draw offline.
os.environ.setdefault("PLOTLY_RENDERER", "notebook")

# --- HTML -----------------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "Stock forecaster"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    # The notebooks' wide tables and charts get the room of the page's table of contents (pages named one by
    # one: two patterns matching one page would warn).
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        **{f"notebooks/{p.stem}": [] for p in (ROOT / "notebooks").glob("*.ipynb")},
    },
}
# The left column only where a page has pages below it (the API reference, the notebooks).
PAGES_WITHOUT_CHILDREN = (
    "index getting-started tickers-and-data running daily-operation dashboard spark-cluster model results "
    "reliability cli contributing"
).split()
html_sidebars: dict[str, list[str]] = {page: [] for page in PAGES_WITHOUT_CHILDREN}
smartquotes = False  # "--verbose" stays two hyphens in the command-line reference
html_show_sourcelink = False

#: The dashboard's screenshots: the committed copies the pages name, and where the browser tests save fresh ones.
SCREENSHOTS = DOCS / "images" / "dashboard"
FRESH_SCREENSHOTS = ROOT / "tests" / "artifacts"


def _copy_notebooks(app, config) -> None:
    """notebooks/*.ipynb into docs/notebooks/, keeping each file's time so an unchanged one is not read again."""
    target = DOCS / "notebooks"
    target.mkdir(exist_ok=True)
    sources = {p.name: p for p in (ROOT / "notebooks").glob("*.ipynb")}
    for stale in target.glob("*.ipynb"):
        if stale.name not in sources:
            stale.unlink()
    for name, source in sources.items():
        copy = target / name
        if not copy.exists() or not filecmp.cmp(source, copy, shallow=False):
            shutil.copy2(source, copy)


def _private_data_dir(app, docname: str, source: list[str]) -> None:
    """Each notebook runs on a data directory of its own, as in the tests (the kernel inherits the variable)."""
    if docname.startswith("notebooks/"):
        data_dir = DOCS / "_build" / "notebook-data" / Path(docname).name  # never inside the site
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        os.environ["FORECASTER_DATA_DIR"] = str(data_dir)


def _fresh_screenshots(app, exception) -> None:
    """Where the browser tests have saved screenshots (tests/artifacts/*.png), the site shows those instead
    of the committed copies: each page image under docs/images/dashboard/ is replaced in the output by the
    test's file of the same name when there is one."""
    if exception is not None or app.builder.format != "html" or not FRESH_SCREENSHOTS.is_dir():
        return
    images = Path(app.outdir) / app.builder.imagedir
    for source, (_docnames, unique_name) in app.env.images.items():
        fresh = FRESH_SCREENSHOTS / Path(source).name
        if (DOCS / source).parent == SCREENSHOTS and fresh.is_file() and (images / unique_name).is_file():
            shutil.copyfile(fresh, images / unique_name)


def setup(app):
    app.connect("config-inited", _copy_notebooks)
    app.connect("source-read", _private_data_dir)
    app.connect("build-finished", _fresh_screenshots)
