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
# Plausible mistakes: a health check on a path the app does not serve, a scalable target
# whose maximum is one task, a task role that reads every bucket (Resource "*"), an S3 bucket
# as a volume, an App Runner service paused after creation, and a Fargate task four times the
# size the job needs.


# %%
def deploy_web(aws, image, network):
    web(aws, image, network, path="/healthz")


def scale_workers(aws, cluster, service, queue_url):
    step_scaling(aws, cluster, service, "orders", high=1)


def reader_roles(aws, bucket):
    return roles_with(
        aws,
        policy({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}),
    )


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    volume = {"name": "notes", "s3VolumeConfiguration": {"bucket": "shop-notes"}}
    mount = {"sourceVolume": "notes", "containerPath": EFS}
    for name, image in (("writer", writer_image), ("reader", reader_image)):
        fargate_service(aws, cluster, name, image, network, volumes=[volume], mounts=[mount])


def deploy_api(apprunner, image):
    service = runner(apprunner, image)
    apprunner.pause_service(ServiceArn=service["ServiceArn"])
    return service["ServiceUrl"]


def deploy_index_job(aws, image, network):
    return fargate_job(aws, image, "4096", "8192")
