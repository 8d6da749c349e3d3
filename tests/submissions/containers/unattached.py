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
# Plausible mistakes: a service not attached to the target group, no scale-in policy, the
# app's S3 permissions on the execution role (and no task role), a bind-mount volume instead
# of EFS, App Runner asked for a public ECR image, and a quarter-vCPU task with 512 MiB.


# %%
def deploy_web(aws, image, network):
    web(aws, image, network, attach=False)


def scale_workers(aws, cluster, service, queue_url):
    step_scaling(aws, cluster, service, "orders", scale_in=False)


def reader_roles(aws, bucket):
    read = policy(
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
    )
    return roles_with(aws, None, read, task=False)


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    volume = {"name": "notes", "host": {}}
    mount = {"sourceVolume": "notes", "containerPath": EFS}
    for name, image in (("writer", writer_image), ("reader", reader_image)):
        fargate_service(aws, cluster, name, image, network, volumes=[volume], mounts=[mount])


def deploy_api(apprunner, image):
    return apprunner.create_service(
        ServiceName="shop-api",
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR_PUBLIC"}
        },
    )["Service"]["ServiceUrl"]


def deploy_index_job(aws, image, network):
    return fargate_job(aws, image, "256", "512")
