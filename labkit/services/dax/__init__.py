"""Amazon DynamoDB Accelerator (DAX): the control plane moto lacks, and the data plane behind the
real DAX client (``from amazondax import AmazonDaxClient``), served by an item cache and a query
cache on the lab clock (:mod:`.patch_client`, :mod:`.sim_node`, :mod:`.sim_cache`)."""
