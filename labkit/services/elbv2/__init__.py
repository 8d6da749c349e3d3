"""Elastic Load Balancing v2: Application Load Balancers answering HTTP, Lambda targets, sign-in."""
