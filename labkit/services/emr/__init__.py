"""Amazon EMR in the sandbox: clusters whose steps run PySpark scripts on the lab clock."""
