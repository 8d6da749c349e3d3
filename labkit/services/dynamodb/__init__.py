"""Amazon DynamoDB as AWS runs it: capacity, throttling, TTL, streams, global tables, recovery."""
