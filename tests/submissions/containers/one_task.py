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
# Plausible mistakes: one task behind the load balancer, target tracking on CPU for queue
# workers, a task role with s3:* on the bucket, the EFS volume on the writer only, App Runner
# on port 80, and Lambda (at its 900-second maximum) for the 20-minute job.


# %%
def deploy_web(aws, image, network):
    web(aws, image, network, count=1)


def scale_workers(aws, cluster, service, queue_url):
    step_scaling(aws, cluster, service, "orders", cpu=True)


def reader_roles(aws, bucket):
    return roles_with(
        aws,
        policy(
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ),
    )


def share_notes(aws, cluster, file_system_id, writer_image, reader_image, network):
    volume = {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": file_system_id}}
    mount = {"sourceVolume": "efs", "containerPath": EFS}
    fargate_service(aws, cluster, "writer", writer_image, network, volumes=[volume], mounts=[mount])
    fargate_service(aws, cluster, "reader", reader_image, network)


def deploy_api(apprunner, image):
    return runner(apprunner, image, port="80")["ServiceUrl"]


def deploy_index_job(aws, image, network):
    return lambda_job(aws, Timeout=900)
