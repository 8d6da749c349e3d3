"""AWS DMS: replication tasks that move rows (PostgreSQL to S3, Kinesis, DynamoDB)."""
