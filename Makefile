# The two commands (see README.md). Everything they need is installed by scripts/bootstrap.sh.
.PHONY: run test bench

run:
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bootstrap.sh
	.venv/bin/python benchmarks/entities_api.py
	.venv/bin/python benchmarks/llm.py
	.venv/bin/python benchmarks/rulebooks.py
	.venv/bin/python benchmarks/images.py
	.venv/bin/python benchmarks/schedules.py
	.venv/bin/python benchmarks/stories.py
	.venv/bin/python benchmarks/analyzers.py
