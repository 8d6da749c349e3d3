"""Amazon Data Firehose: delivery streams from Kinesis to S3 with buffering on the lab clock."""
