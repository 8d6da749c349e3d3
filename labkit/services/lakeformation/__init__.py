"""AWS Lake Formation in the sandbox: moto's grants and locations, plus data cells filters."""
