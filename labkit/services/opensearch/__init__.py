"""Amazon OpenSearch Service: domains (moto) answering the REST API from SQLite FTS5."""
