# The two commands (see README): `make run` serves the platform, `make test` runs every check.
.PHONY: run test test-fast bench cluster

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
