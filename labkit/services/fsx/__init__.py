"""Amazon FSx for Lustre linked to S3: lazy load on first read, export of changed files."""
