"""AWS Global Accelerator: accelerators, listeners and endpoint groups (moto has none)."""
