# The two commands (see README.md). Everything they need is installed by scripts/bootstrap.sh.
.PHONY: run test gates bench

run:
	scripts/run.sh

test:
	scripts/test.sh

gates:
	scripts/bootstrap.sh
	scripts/gates.sh

# Every benchmark rewrites its own section of docs/benchmarks.md (the shipped `default` model,
# hence large-model); the rules Q&A evaluation runs each question set in a new library.
bench:
	scripts/bootstrap.sh large-model
	.venv/bin/python benchmarks/entities_api.py
	.venv/bin/python benchmarks/load/run.py
	.venv/bin/python benchmarks/llm.py
	.venv/bin/python benchmarks/rulebooks.py
	.venv/bin/python benchmarks/images.py
	.venv/bin/python benchmarks/schedules.py
	.venv/bin/python benchmarks/stories.py
	.venv/bin/python benchmarks/analyzers.py
	.venv/bin/python benchmarks/workflows.py
	.venv/bin/python benchmarks/backup.py
	.venv/bin/python benchmarks/observability.py
	LIFEOS_FUZZ_EXAMPLES=200 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_api_fuzz.py
	.venv/bin/python benchmarks/report.py rules-qa ../shared/data/rulebooks \
	  benchmarks/rulebook_sets/own benchmarks/rulebook_sets/messy benchmarks/rulebook_sets/web
