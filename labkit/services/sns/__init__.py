"""Amazon SNS: topics, filter policies, fan-out to queues and functions, and a delivery log."""
