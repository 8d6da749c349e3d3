"""AWS CloudFormation in the sandbox: stacks, change sets, rollback, drift and StackSets."""
