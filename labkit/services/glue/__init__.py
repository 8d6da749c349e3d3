"""AWS Glue in the sandbox: moto's Data Catalog, with crawlers that infer tables from S3."""
