"""Amazon QuickSight in the sandbox: data sets over Athena, SPICE refreshes, a dashboard view."""
