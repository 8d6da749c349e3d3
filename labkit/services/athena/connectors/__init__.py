"""Athena data source connectors to deploy as Lambda functions in the sandbox.

- :mod:`.sdk`: the reduced Athena Query Federation SDK protocol (see
  :mod:`labkit.services.athena.sim_federation`) for writing your own connector.
- :mod:`.dynamodb_connector`: a ready connector over the sandbox's DynamoDB tables, as AWS's
  prebuilt Amazon DynamoDB connector.
"""
