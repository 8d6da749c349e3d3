"""Amazon SQS: queues, messages by state, dead letters, and scaling consumers on depth."""
