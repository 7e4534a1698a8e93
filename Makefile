# The two commands (see README): `make run` serves the platform, `make test` runs every check.
.PHONY: run test test-fast bench cluster soak

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# The first two test tiers (tests/unit, tests/api: no FFmpeg, nginx or browser) and the linters.
test-fast:
	bash scripts/test_fast.sh

# The scale-out topology on one machine: two API replicas, two workers, nginx in front (docs/SCALING.md).
cluster:
	bash scripts/cluster.sh

# Benchmarks (not part of `make test`; figures in docs/PERFORMANCE.md). They need wrk, PostgreSQL and chromium.
bench:
	bash scripts/bootstrap.sh wrk nginx-light chromium
	bash scripts/build_web.sh
	cd backend && uv run --frozen python -m bench.bench_playlists
	cd backend && uv run --frozen python -m bench.bench_catalogue
	cd backend && uv run --frozen python bench/bench_simlive.py
	cd backend && uv run --frozen python -m bench.bench_player

# Soak (not part of `make test`; docs/PERFORMANCE.md, "Soak"): SOAK_VIEWERS simulated web players for
# SOAK_MINUTES against a single process, or with SOAK_CLUSTER=1 against two API replicas, two workers
# and nginx; SOAK_ARGS passes more (e.g. --find-max, --mix live=60,startover=25,catchup=15).
SOAK_VIEWERS ?= 50
SOAK_MINUTES ?= 20
soak:
	bash scripts/bootstrap.sh nginx-light
	[ -d e2e/node_modules/shaka-player ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
	cd backend && uv run --frozen python -m bench.soak --viewers $(SOAK_VIEWERS) --minutes $(SOAK_MINUTES) \
		$(if $(filter 1,$(SOAK_CLUSTER)),--cluster) $(SOAK_ARGS)
