"""Amazon Redshift: clusters (moto) backed by DuckDB, the Data API, COPY/UNLOAD, Spectrum."""
