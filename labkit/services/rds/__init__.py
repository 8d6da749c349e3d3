"""Amazon RDS in the sandbox: moto's control plane with a real PostgreSQL behind each endpoint."""
