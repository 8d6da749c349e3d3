"""AWS DataSync: a local folder kept in sync with S3, incrementally, on the lab clock."""
