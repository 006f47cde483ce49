"""AI tools: plain classes with typed inputs and outputs, configured by `configs/tools/*.yaml`.

A tool never knows whether it runs inside Dagster, the API, the CLI or the studio."""
