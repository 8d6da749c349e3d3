# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: containers
#     role: exercise
# ---

# %%
# The setup and helpers every sample shares (tests/grading_support.py puts them here).
# sample-include: parts/setup.py

# %% [markdown]
# Plausible mistakes: the EC2 launch type (no instances), the alarm's QueueName given the
# queue's URL, a task role whose statements all name bucket/* (listing is on the bucket), the
# reader's volume mounted at another path, App Runner on port 8000, and a task definition
# without an execution role.


# %%
def deploy_web(aws, image, network):
    web(aws, image, network, launch="EC2")


def scale_workers(aws, cluster, service, queue_url):
    step_scaling(aws, cluster, service, queue_url)


def reader_roles(aws, bucket):
    return roles_with(
        aws,
        policy(
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ),
    )


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    volume = {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": file_system_id}}
    for name, image, path in (
        ("writer", writer_image, EFS),
        ("reader", reader_image, "/mnt/notes"),
    ):
        mount = {"sourceVolume": "efs", "containerPath": path}
        fargate_service(aws, cluster, name, image, network, volumes=[volume], mounts=[mount])


def deploy_api(apprunner, image):
    return runner(apprunner, image, port="8000")["ServiceUrl"]


def deploy_index_job(aws, image, network):
    return fargate_job(aws, image, "1024", "2048", execution=False)
