# msar: the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= demo-out

.PHONY: help venv demo test bench clean data

help:
	@echo "make demo   - create .venv, install msar, run it on the bundled demo audio"
	@echo "make test   - create .venv if needed and run the test suite"
	@echo "make bench  - throughput benchmarks (writes reports/bench-*.md)"
	@echo "make data   - download Debian speech/noise packages and build the training corpus in $(CACHE)/corpus"

# pyworld builds from source and needs its build tools installed first, without build isolation.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel cython numpy
	$(BIN)/pip install -q --no-build-isolation pyworld
	$(BIN)/pip install -q --no-build-isolation -e '.[metrics,dev]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== scoring real 8 kHz telephone copies against the 16 kHz studio originals"
	$(BIN)/msar score demo/speech demo/telephone --align --metrics pesq_wb,stoi,lsd \
	    --per-file $(OUT)/score_telephone.csv --aggregate $(OUT)/score_telephone_aggregate.csv \
	    --plot $(OUT)/score_telephone.png
	$(BIN)/msar score demo/speech/en_allison_weasels.flac demo/telephone/en_allison_weasels.wav --align \
	    --per-file $(OUT)/contours.csv --plot $(OUT)/contours_en_allison.png -q
	@echo "== results are in $(OUT)/ (CSV tables and PNG charts)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/score_throughput.py --out reports/bench-score.md

clean:
	rm -rf $(OUT) .pytest_cache build *.egg-info

# The training corpus (train/data/README.md): Debian packages are unpacked into $(CACHE)/pkgs, nothing is
# installed system-wide except ffmpeg. Set CACHE=... or MSAR_CACHE=... to build it elsewhere.
CACHE ?= $(or $(MSAR_CACHE),cache)

data: $(STAMP)
	command -v ffmpeg >/dev/null || { apt-get update && apt-get install -y ffmpeg; }
	$(BIN)/python -m train.data.prepare --cache $(CACHE)
