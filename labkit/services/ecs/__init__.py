"""Amazon ECS in the sandbox: tasks that run learner apps, placement, services, Fargate."""
