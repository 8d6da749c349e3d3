"""Amazon CloudFront: distributions served over HTTP, edge caches, invalidations, a request log."""
