"""Amazon ECR in the sandbox: images that are apps a learner defines in a cell."""
