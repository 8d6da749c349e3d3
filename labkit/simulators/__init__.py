"""Plain-Python simulators of AWS behaviour that moto lacks (no moto, no Jupyter).

Each module models one concept on the lab clock (throughput meters, caches, latency) so that the
sandbox's service patches can use it and tests can exercise it without starting a lab.
"""
