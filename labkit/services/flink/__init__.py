"""Amazon Managed Service for Apache Flink: windows over streams, on the lab clock."""
