"""AWS Lambda: an in-process runtime, triggers, destinations, permissions, and pricing."""
