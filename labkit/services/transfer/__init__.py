"""AWS Transfer Family: SFTP servers that really speak SFTP, backed by the sandbox's S3."""
