"""Amazon Cognito user pools: sign-up, confirmation codes, sign-in, signed tokens and their JWKS."""
