# sfxrep — `make train` and `make test` do all set-up on a fresh machine.
PYTHON   ?= python3
VENV     ?= .venv
# CPU build by default (a bare torch range pulls GBs of CUDA wheels). GPU users override, e.g.
#   make train TORCH="torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cu128"
TORCH    ?= torch==2.13.0
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed

# MIXING, BN, FDR, LOSS, SEED: empty = as the YAML says (base.yaml: sequential, shared, no FDR, CE, seed 0)
SCENARIO ?= cross
MIXING   ?=
BN       ?=
FDR      ?=
LOSS     ?=
SEED     ?=
CONFIG   ?= experiments/demo.yaml
RESULTS  ?= runs/results.jsonl
ARGS     ?=
WANDB    ?=
BASE     ?=
RESUME   ?=
# fine-tuning: INIT=aisfx (the authors' release) or a .ckpt; FREEZE=N epochs of heads only
INIT     ?=
FREEZE   ?=
# make tune: an Optuna study (paper 3.3: 20 trials of random search); every trial is a make-train run
TRIALS   ?= 20
STUDY    ?=
STORAGE  ?=
WORKERS  ?= 1
SPACE    ?=

# the options of sfxrep train shared by train and tune: only those that are set are passed
TRAIN_OPTIONS = $(if $(MIXING),--mixing $(MIXING)) $(if $(BN),--bn $(BN)) $(if $(FDR),--fdr $(FDR)) \
	$(if $(LOSS),--loss $(LOSS)) $(if $(SEED),--seed $(SEED)) $(if $(BASE),--base $(BASE)) \
	$(if $(INIT),--init $(INIT)) $(if $(FREEZE),--freeze-encoder-epochs $(FREEZE)) \
	$(foreach c,$(CONFIG),--config $(c)) $(if $(WANDB),--config experiments/loggers/wandb.yaml)

.PHONY: help install browser train tune tune-show test test-fast study bench bench-full int8 model model-v2 model-v2-table corpus clean

help:  ## list targets and variables
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'
	@echo "variables: SCENARIO=within|ucs_transfer|cross MIXING=sequential|joint|round_robin BN=shared|per_library"
	@echo "           FDR=off|on LOSS=ce|contrastive|triplet|circle SEED=N (unset: as the YAML says)"
	@echo "           CONFIG=experiments/demo.yaml TORCH=$(TORCH)"
	@echo "           BASE=<library> (ucs_transfer base; default the first UCS library) ARGS='--trainer.…'"
	@echo "           WANDB=1 (log to Weights & Biases; WANDB_MODE=offline without an account)"
	@echo "           RESUME=1 (continue the same command's unfinished runs from their last.ckpt)"
	@echo "           INIT=aisfx|run.ckpt (fine-tune: warm-start the encoder and known heads) FREEZE=N"
	@echo "tune:      TRIALS=20 STUDY=name STORAGE=sqlite:///f.db|postgresql://…|journal:f.log WORKERS=N SPACE=ce"

# aisfx: the authors' released model (reference for evaluation and tests), without its ancient pins
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH) -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps aisfx==0.1.2
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install sfxrep (torch pinned by TORCH)

browser:  ## Debian's headless Chromium for the audit page's browser test (root or sudo; no download at run time)
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }
	@chromium --version

train: $(STAMP)  ## train + kNN-evaluate a scenario (default: cross-dataset on the built-in demo)
	$(BIN)/sfxrep train --scenario $(SCENARIO) $(TRAIN_OPTIONS) --results $(RESULTS) $(if $(RESUME),--resume) \
		$(if $(ARGS),-- $(ARGS))

tune: $(STAMP)  ## Optuna search: TRIALS over SPACE (default: the loss's), WORKERS local processes, STORAGE url
	$(BIN)/sfxrep tune --scenario $(SCENARIO) $(TRAIN_OPTIONS) --results $(RESULTS) --trials $(TRIALS) \
		--workers $(WORKERS) $(if $(STUDY),--study $(STUDY)) $(if $(STORAGE),--storage '$(STORAGE)') \
		$(if $(SPACE),--space $(SPACE)) $(if $(ARGS),-- $(ARGS))

tune-show: $(STAMP)  ## the trials table, importances and best settings of STUDY
	$(BIN)/sfxrep tune show --scenario $(SCENARIO) $(if $(LOSS),--loss $(LOSS)) $(if $(STUDY),--study $(STUDY)) \
		$(if $(STORAGE),--storage '$(STORAGE)') $(if $(SPACE),--space $(SPACE))

test: $(STAMP)  ## lint, then the whole test suite (incl. slow real-data and DDP tests)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## lint, then the unit tests: every end-to-end test (marked slow) deselected; < 3 min on 2 cores
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow"

# make corpus: the public corpus (experiments/corpus/*.yaml recipes: pinned Debian packages of free games and sample
# collections) into data/corpus/ (git-ignored); packages are kept in CORPUS_CACHE (default ~/.cache/sfxrep/debs)
CORPUS_CACHE ?=
corpus: $(STAMP)  ## fetch, label, de-duplicate the public corpus into data/corpus/ (seconds when cached); check UCS crosswalks
	$(BIN)/sfxrep corpus build $(if $(CORPUS_CACHE),--cache $(CORPUS_CACHE)) $(ARGS)

study: $(STAMP)  ## study-v1: RQ1-RQ4 on ../shared/data, 3 seeds, resumable (run again to continue) → results/study-v1
	$(BIN)/python experiments/study.py $(if $(ARGS),-- $(ARGS))

# make model: the release recipe on the seven ../shared/data libraries, resumable (run it again to continue); then the
# weight-space ensemble with aiSFX whose mixing weight is best on the validation splits, written into the package as
# sfxrep-v1 (half precision, checked against full precision on real files), and its kNN evaluation. On a GPU:
#   make model TORCH="torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cu128" ARGS="--trainer.accelerator gpu"
RELEASE  ?= experiments/release/sfxrep-v1.yaml
model: $(STAMP)  ## train the release model (resumable), choose its WiSE-FT mix on validation, ship it as sfxrep-v1
	$(BIN)/sfxrep train --scenario cross -c experiments/release/budget.yaml -c $(RELEASE) --name sfxrep-v1 \
		--results results/release/sfxrep-v1.jsonl --runs runs/release --resume $(if $(ARGS),-- $(ARGS))
	$(BIN)/sfxrep release results/release/sfxrep-v1.jsonl --name sfxrep-v1 --interpolate auto
	$(BIN)/sfxrep evaluate sfxrep-v1 --libraries-yaml experiments/libraries/shared.yaml \
		--results results/release/references.jsonl

# make model-v2: one sfxrep-v2 candidate (issue 34): RECIPE (experiments/release/v2/*.yaml) trained from SEED (0) on the
# corpus's training libraries for the fixed budget of experiments/release/v2/budget.yaml (resumable: run it again),
# then scored once on the corpus transfer panel (results/release-v2/panel.jsonl); make model-v2-table compares every
# candidate with aiSFX (results/release-v2/TABLE.md). FROM=<run folder> starts from that run's last checkpoint (a
# longer budget continuing a shorter run). Needs make corpus.
RECIPE ?= experiments/release/v2/keep.yaml
model-v2: $(STAMP)  ## one sfxrep-v2 candidate: RECIPE=experiments/release/v2/<name>.yaml SEED=0, scored on the panel
	$(BIN)/sfxrep train --scenario cross -c experiments/release/v2/budget.yaml -c $(RECIPE) \
		--name v2-$(basename $(notdir $(RECIPE))) --seed $(or $(SEED),0) --no-eval --runs runs/release-v2 --resume \
		$(if $(FROM),--continue-from $(FROM)) $(if $(ARGS),-- $(ARGS))
	$(BIN)/python experiments/release/v2.py evaluate

model-v2-table: $(STAMP)  ## the sfxrep-v2 candidates against aiSFX on the corpus panel, paired, with intervals
	$(BIN)/python experiments/release/v2.py table

# make int8: the int8 calibrations shipped for --precision int8 (aisfx and sfxrep-v1, on the train splits of the seven
# ../shared/data libraries), saved in the package under the SHA-256 of each float encoder
int8: $(STAMP)  ## calibrate the shipped int8 encoders (aisfx, sfxrep-v1) → sfxrep/models/weights/int8
	for m in aisfx sfxrep-v1; do $(BIN)/sfxrep quantize $$m --libraries experiments/libraries/shared.yaml \
		--out sfxrep/models/weights/int8 || exit 1; done

# make bench: the headline figures in under 10 minutes on 2 cores (train step per precision and its share of the peak,
# where a step's time goes, embedding against the authors' pipeline, one call per file against batched, data wait,
# search at 10k); make bench-full adds the long runs (100k-file index, the audit bench on four real libraries clean and
# damaged, moved here after make bench ran 10 min 28 s with it on two, bf16/int8 gates, int8 encoder)
BENCH_QUICK = --widths 32 64 --steps 3 --modes "fp32 + channels_last" "bf16 + channels_last" --embed-modes batched --data-wait-workers 0 2 --index-sizes 10000 \
	--gate-models --int8-files 0 --scale-sizes --audit-libraries
bench: $(STAMP)  ## headline throughput in < 10 min: train step and its profile, embedding vs aiSFX, one-call vs batched
	$(BIN)/python -m benchmarks.bench $(BENCH_QUICK) $(ARGS)

bench-full: $(STAMP)  ## every benchmark: also the 100k-file index, the audit bench, the precision gates (about an hour)
	$(BIN)/python -m benchmarks.bench $(ARGS)

clean:  ## remove runs/ and the demo audio (keeps .venv and the cache: ~/.cache/sfxrep, or $$SFXREP_CACHE_DIR)
	rm -rf runs data/demo lightning_logs
