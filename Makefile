# gandemo: `make book` builds the HTML book, `make test` runs lint, unit tests and book checks.
# Both create .venv on first use and install from constraints.txt (exact versions).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BOOK_HTML := book/_build/html/index.html
# Third-party browser assets are taken from the npm registry at install time, never committed.
MATHJAX_VERSION := 3.2.2
MATHJAX := book/_vendor/mathjax/tex-mml-chtml.js

.PHONY: book test lint unit lab clean lock assets page-settings

$(STAMP): pyproject.toml constraints.txt
	@if [ ! -x "$(PY)" ]; then echo "==> creating $(VENV) (python3 -m venv)"; python3 -m venv "$(VENV)"; fi
	@echo "==> installing gandemo (editable) with the book and test tools, pinned by constraints.txt"
	@# pip's notes about this machine's local index folders are noise, not resolver warnings
	@set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check --progress-bar off \
		-c constraints.txt -e ".[book,test]" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
	@echo "==> registering the Jupyter kernel 'gandemo' inside $(VENV)"
	@$(PY) -m ipykernel install --sys-prefix --name gandemo --display-name "Python (gandemo)" >/dev/null
	@touch "$@"
	@echo "==> environment ready: $(VENV)"

# MathJax served by the book itself (book/_vendor is copied to the HTML root), so pages typeset
# math with no network. Not in _static: Jupyter Book adds every .js file there to every page.
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed to fetch MathJax from the npm registry"; exit 1; }
	@echo "==> fetching mathjax@$(MATHJAX_VERSION) from the npm registry into book/_vendor (not committed)"
	@set -e; tmp=$$(mktemp -d); (cd "$$tmp" && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null \
		&& tar xzf mathjax-$(MATHJAX_VERSION).tgz); \
	dest=book/_vendor/mathjax; rm -rf "$$dest"; mkdir -p "$$dest/output"; \
	cp -r "$$tmp"/package/es5/{tex-mml-chtml.js,input,a11y,ui,sre,adaptors} "$$dest/"; \
	cp -r "$$tmp"/package/es5/output/chtml "$$dest/output/"; \
	cp "$$tmp"/package/LICENSE "$$dest/"; rm -rf "$$tmp"

assets: $(MATHJAX)

book: $(STAMP) $(MATHJAX)
	@echo "==> building the book (executes every chapter; warnings are errors)"
	$(VENV)/bin/jupyter-book build book -W -n --keep-going
	@echo "==> book built: $(CURDIR)/$(BOOK_HTML)"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks book/chapters book/_ext
	$(VENV)/bin/ruff format --check src tests benchmarks book/chapters book/_ext

# The page's live trainer reads its recipe and colours from this generated file (gandemo.page);
# tests/test_page.py fails while it is not current.
page-settings: $(STAMP)
	$(PY) -m gandemo page-settings > book/_static/gd_settings.js

# Unit tests only: no book build, no browser (tests using the built_book fixture are marked book).
unit: $(STAMP)
	$(PY) -m pytest -m "not book and not browser"

test: lint $(STAMP) $(MATHJAX)
	$(PY) -m pytest

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=book/chapters $(LAB_ROOT_FLAG)

# Refresh constraints.txt from the current environment (run after editing dependencies).
lock: $(STAMP)
	@{ sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt
	@echo "==> constraints.txt refreshed"

clean:
	rm -rf book/_build .pytest_cache
