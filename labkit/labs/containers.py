"""The containers lab: ECS on Fargate behind a load balancer, queue workers that scale, task
roles, EFS shared between services, App Runner, and Lambda against Fargate.

Every check calls the learner's functions in an empty world of its own, with its own clock:

- ``web_service``: the product API on Fargate behind an ALB keeps answering while a task
  crashes (:mod:`labkit.labs.containers_web`);
- ``queue_workers``: the worker service scales out on its queue's backlog and back in when the
  queue drains; another queue's backlog does not move it (:mod:`labkit.labs.containers_web`);
- ``task_role``: the report reader reads its bucket and nothing else, by its task role
  (:mod:`labkit.labs.containers_access`);
- ``shared_files``: two services share a folder through EFS
  (:mod:`labkit.labs.containers_access`);
- ``app_runner``: the same API on App Runner (:mod:`labkit.labs.containers_choice`);
- ``long_job``: a 20-minute hourly job on what can run it, within a budget
  (:mod:`labkit.labs.containers_choice`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.containers_access import REPORTS, check_shared_files, check_task_role
from labkit.labs.containers_choice import BUDGET, check_app_runner, check_long_job
from labkit.labs.containers_web import check_queue_workers, check_web_service
from labkit.labs.spec import LabSpec

#: Checks that play up to an hour of lab time with tasks, alarms and health checks.
CLOCK_CHECK_TIMEOUT = 60.0

LAB = LabSpec(
    id="containers",
    title="Containers: ECS on Fargate, load balancing, scaling, task roles, EFS and App Runner",
    lesson="notebooks/11_containers.ipynb",
    lesson_source="notebooks/11_containers.py",
    exercise="exercises/11_containers.ipynb",
    solution="solutions/11_containers.ipynb",
    source="solutions/11_containers.py",
    checks=(
        Check(
            name="web_service",
            title="deploy_web: the product API on Fargate behind a load balancer keeps "
            "answering while one of its tasks crashes",
            points=2,
            run=check_web_service,
            hint="Two or more Fargate tasks in a service attached to the load balancer's "
            "target group, health-checked at /health.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
        Check(
            name="queue_workers",
            title="scale_workers: the worker service scales out on its queue's backlog and "
            "back in when the queue drains",
            points=2,
            run=check_queue_workers,
            hint="A scalable target, and step scaling policies as the actions of CloudWatch "
            "alarms on the queue's ApproximateNumberOfMessagesVisible.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
        Check(
            name="task_role",
            title=f"reader_roles: the report reader lists and reads `{REPORTS}` and nothing "
            "else, by its task role; the execution role only pulls and logs",
            points=2,
            run=check_task_role,
            hint="A task role with s3:ListBucket on the bucket and s3:GetObject on its "
            "objects; an execution role with AmazonECSTaskExecutionRolePolicy.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
        Check(
            name="shared_files",
            title="share_notes: the note writer's and reader's services share one EFS folder",
            points=2,
            run=check_shared_files,
            hint="The same EFS volume in both task definitions, mounted at /mnt/shared.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
        Check(
            name="app_runner",
            title="deploy_api: the same product API answers at an App Runner HTTPS URL",
            points=1,
            run=check_app_runner,
            hint="create_service from the ECR image with ImageConfiguration Port '8080'.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
        Check(
            name="long_job",
            title=f"deploy_index_job: the 20-minute hourly job runs to its end for under "
            f"${BUDGET:.0f} a month",
            points=1,
            run=check_long_job,
            hint="Longer than Lambda's 15 minutes: a Fargate task of 1 vCPU and 2 GB.",
            isolated=True,
            timeout=CLOCK_CHECK_TIMEOUT,
        ),
    ),
)
