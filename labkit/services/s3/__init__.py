"""Amazon S3: bucket policies as S3 evaluates them, notifications, replication, S3 as an origin."""
