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

.PHONY: install install-dev ingest-seeds serve test test-fast lint format constraints clean eval eval-answers eval-int8 bench

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
# Ingests the corpus once into $(EVAL_DATA_DIR) (unchanged articles are skipped on later runs).
# The same index as the retrieval benchmark, so the corpus is embedded once.
EVAL_DATA_DIR ?= ./bench/data/multihop-index
EVAL_EVERY ?= 1
eval-answers: $(INSTALLED)
	RAG_DATA_DIR=$(EVAL_DATA_DIR) RAG_COLLECTION=multihop $(PY) -m ingest bench/data/multihop/corpus.json
	RAG_DATA_DIR=$(EVAL_DATA_DIR) RAG_COLLECTION=multihop RAG_GENERATOR=extractive \
	  $(PY) -m bench.eval_answers --every $(EVAL_EVERY)

eval: eval-answers

# Retrieval benchmark with the int8 ONNX encoder: its own collection (multihop-onnx-int8) and results
# file (bench/results/multihop_retrieval_onnx-int8.*), so the fp32 results stay as they are.
eval-int8: $(INSTALLED)
	RAG_EMBEDDING_BACKEND=onnx-int8 $(PY) -m bench.eval_retrieval --modes "hybrid (newsrag)"

# Speed next to the raw cost of the same work (bench/results/perf.{json,md}); e.g.
# make bench BENCH_ARGS="--articles 200" for a smaller ingest.
BENCH_ARGS ?=
bench: $(INSTALLED)
	$(PY) -m bench.bench_perf $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
