"""Amazon Athena in the sandbox: the learner's SQL run for real by DuckDB over the sandbox's S3."""
