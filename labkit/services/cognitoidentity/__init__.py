"""Amazon Cognito identity pools: sign-in or guest access traded for temporary credentials."""
