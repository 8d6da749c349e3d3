"""The edge network under CloudFront and Global Accelerator: locations, latency, viewers."""
