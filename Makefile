# dipnb: build the book and run the tests from a fresh clone.
#   make book   -> _build/html/index.html (every chapter executed; any warning or failing cell fails)
#   make test   -> unit tests + pairing test + nbmake over every book/*.ipynb (each chapter
#                  executed once), the book built from those notebooks, the browser test
#   make student -> _build/coursework/{student,instructor}/*.ipynb (exercises without / with solutions)
# Both create .venv first (python3 -m venv + pip install -r requirements.txt).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= 2
NB_TIMEOUT     ?= 300

# Matplotlib backends. Unit tests and nbmake run with MPLBACKEND=Agg (headless).
# The book build must NOT: ipykernel only installs its inline backend when
# MPLBACKEND is unset, so with Agg every plt.show() in a chapter renders nothing
# and the pages silently lose their figures. `book` therefore unsets it.
# One torch/OpenMP thread per notebook kernel: nbmake runs two kernels at once on
# two cores, and oversubscribed torch threads made steps up to 40x slower here.
TEST_ENV := MPLBACKEND=Agg OMP_NUM_THREADS=1
BOOK_ENV := env -u MPLBACKEND

.PHONY: venv book test lint unit chromium sync clean student student-check

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# Every chapter executed by myst-nb (through tools/nbwatch.py), warnings as errors.
book: venv
	$(BOOK_ENV) -u DIPNB_EXECUTED $(BUILD)

# The whole suite, each chapter executed once:
#  1. pytest: unit tests, the pairing test, tests/test_stall.py and nbmake over every
#     book/*.ipynb (one named test per chapter, two at a time). The root conftest.py runs the
#     chapters through tools/nbwatch.py (stall watchdog, one retry) and writes each passing
#     chapter's executed notebook to $(EXECUTED).
#  2. the book, built from those notebooks (tools/nbwatch_sphinx.py: a fresh jupyter-cache of
#     them; a chapter without one is executed again and fails the build), warnings as errors.
#  3. tests/test_browser*.py: the built pages in headless Chromium with the network cut, and
#     the interactive figures driven as a reader would (slider, hover, toggle).
# All three run even if one fails; the recipe fails if any did (pytest's exit code 5, no
# tests collected, is a failure too).
# --nbmake collects every book/*.ipynb (it ignores .md); the normal test modules
# under tests/ are collected as usual. ./_build is under neither path;
# --ignore=book/_build guards against a stray `jupyter-book build book/`.
# --dist worksteal: each worker starts with half the list (the chapters, 5-100 s each, are
# at its end) and a worker that runs out takes the tail of the other's queue.
EXECUTED := _build/executed
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal tests book/ --ignore=book/_build --nbmake --nbmake-timeout=$(NB_TIMEOUT)
BUILD  := $(BIN)/jupyter-book build . --all -W --keep-going

# Every nbwatch line (stall, retry, re-armed wake-up) of both runs also goes to $(NBWATCH_LOG),
# printed at the end.
NBWATCH_LOG := _build/nbwatch.log
RUN_ENV = DIPNB_EXECUTED=$(CURDIR)/$(EXECUTED) NBWATCH_LOG=$(CURDIR)/$(NBWATCH_LOG)

test: venv chromium
	rm -rf $(EXECUTED) $(NBWATCH_LOG) && mkdir -p $(EXECUTED)
	@status=0; \
	$(MAKE) --no-print-directory lint || status=$$?; \
	$(TEST_ENV) $(RUN_ENV) $(PYTEST) --ignore-glob='tests/test_browser*' || status=$$?; \
	$(BOOK_ENV) $(RUN_ENV) $(BUILD) || status=$$?; \
	$(TEST_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/test_browser*.py || status=$$?; \
	if [ -s $(NBWATCH_LOG) ]; then echo "nbwatch ($(NBWATCH_LOG)):"; cat $(NBWATCH_LOG); fi; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (exit $$status, see above)"; fi; exit $$status

# Lint as the field does: ruff (style and likely bugs, [tool.ruff] in pyproject.toml) and
# import-linter (the layers, [tool.importlinter]); part of `make test`.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Everything but the browser test, without building the book (faster while editing).
unit: venv
	$(TEST_ENV) $(PYTEST) --ignore-glob='tests/test_browser*'

# The browser test drives the Debian chromium (no browser download); install it if missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "installing Debian's chromium for tests/test_browser.py"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Coursework: student notebooks (solutions replaced by NotImplementedError stubs, checks kept)
# and instructor notebooks (nbgrader source notebooks) for every chapter; see book/instructors.md.
COURSEWORK ?= _build/coursework
student: venv
	$(BIN)/python -m dipnb.coursework --out $(COURSEWORK)

# The same, then execute every student notebook up to its first stub and the instructor's
# solutions and checks after it (one kernel per chapter: as long as running every chapter).
student-check: venv
	$(TEST_ENV) $(BIN)/python -m dipnb.coursework --out $(COURSEWORK) --verify

# Bring .md and .ipynb of each paired chapter back in step (newest file wins).
sync: venv
	@set -e; for f in book/*.md; do \
	  if head -n 30 "$$f" | grep -q '^kernelspec:'; then $(BIN)/jupytext --sync "$$f"; fi; \
	done

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \) -print0 | xargs -0 rm -rf
