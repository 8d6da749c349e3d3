"""Amazon OpenSearch Service: domains (moto) answering the REST API from tantivy (Lucene-like)."""
