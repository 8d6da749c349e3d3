"""API Gateway v2: HTTP APIs and WebSocket APIs (and their @connections management API)."""
