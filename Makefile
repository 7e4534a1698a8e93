# The two commands (see README): `make run` serves the platform, `make test` runs every check.
.PHONY: run test bench

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

bench:
	cd backend && uv run --frozen python -m bench
