"""AWS App Runner: services from an ECR image that answer at an HTTPS URL, scaled by concurrency."""
