"""Amazon ElastiCache in the sandbox: moto's control plane with a Redis engine behind endpoints."""
