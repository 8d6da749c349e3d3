"""AWS Snowball Edge: import and export jobs on the lab clock, and network-or-device sizing."""
