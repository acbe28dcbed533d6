# newsrag: `make serve` installs and serves the seeds; `make test` installs and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev
RAG_DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export RAG_DATA_DIR

.PHONY: install install-dev ingest-seeds serve test test-fast lint format constraints clean eval eval-answers eval-fp32 bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first and on its own: a bare dependency on torch would pull a multi-GB CUDA build.
$(INSTALLED): pyproject.toml constraints.txt | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -c constraints.txt -e .
	touch $@

$(DEV_INSTALLED): $(INSTALLED)
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $@

install: $(INSTALLED)

install-dev: $(DEV_INSTALLED)

# Idempotent: unchanged seeds are skipped, so re-running embeds nothing.
ingest-seeds: $(INSTALLED)
	$(PY) -m ingest seeds

serve: ingest-seeds
	$(PY) -m service --host $(HOST) --port $(PORT)

test: $(DEV_INSTALLED)
	$(PY) -m pytest

test-fast: $(DEV_INSTALLED)
	$(PY) -m pytest -m "not e2e and not browser"

# MultiHop-RAG retrieval benchmark: ingests into bench/data/multihop-index (reused), writes bench/results/.
# The default encoder (int8) has the collection multihop-onnx-int8 and bench/results/multihop_retrieval_onnx-int8.*
eval: $(INSTALLED)
	$(PY) -m bench.eval_retrieval

lint: $(DEV_INSTALLED)
	$(VENV)/bin/ruff check service ingest tests bench
	$(VENV)/bin/ruff format --check service ingest tests bench
	$(VENV)/bin/mypy

format: $(DEV_INSTALLED)
	$(VENV)/bin/ruff format service ingest tests
	$(VENV)/bin/ruff check --fix service ingest tests

constraints: $(DEV_INSTALLED)
	{ echo "# Exact versions of every package newsrag installs (direct and transitive), from a working venv."; \
	  echo "# Regenerate with: make constraints"; \
	  $(PIP) freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > constraints.txt

# Answer quality on MultiHop-RAG (dev split): refusals, citation precision, evidence recall.
# On the retrieval benchmark's index and collection for the same encoder (bench.eval_retrieval's
# eval_settings), so the corpus is embedded once; unchanged articles are skipped on later runs.
EVAL_EVERY ?= 1
eval-answers: $(INSTALLED)
	RAG_GENERATOR=extractive $(PY) -m bench.eval_answers --every $(EVAL_EVERY)

eval: eval-answers

# Retrieval benchmark with the fp32 torch encoder, for comparison with the default (int8): its own
# collection (multihop) and results file (bench/results/multihop_retrieval.*); the README keeps the
# default encoder's numbers.
eval-fp32: $(INSTALLED)
	RAG_EMBEDDING_BACKEND=torch $(PY) -m bench.eval_retrieval --modes hybrid

# Speed next to the raw cost of the same work (bench/results/perf.{json,md}); e.g.
# make bench BENCH_ARGS="--articles 200" for a smaller ingest.
BENCH_ARGS ?=
bench: $(INSTALLED)
	$(PY) -m bench.bench_perf $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
