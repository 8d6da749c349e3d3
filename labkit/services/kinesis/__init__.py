"""Kinesis Data Streams: shards, throughput limits, resharding, and seeded loads."""
