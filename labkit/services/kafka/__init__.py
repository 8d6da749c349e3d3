"""Amazon MSK in the sandbox: moto's control plane with Kafka brokers the real client talks to."""
