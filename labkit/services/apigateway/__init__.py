"""Amazon API Gateway: REST APIs whose Lambda proxy integrations really run."""
