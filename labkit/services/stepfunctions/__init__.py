"""Step Functions: moto's control plane, labkit's interpreter for executions.

Decision (issue 15): keep moto for the control plane (create, describe, list, update, delete and
tag state machines; activities' create/describe/list/delete) and **replace** moto's execution with
an interpreter of labkit's own, on the lab clock. Measured on moto 5.2.5 with
``execute_state_machine`` (the sandbox's setting):

- moto runs each execution on a real thread with LocalStack's ANTLR interpreter: ``Wait`` sleeps
  in real time (a 2-second Wait took 2.02 s of wall time) and nothing follows the lab clock, so a
  24-hour approval timeout or a retry's backoff cannot be taught, or tested, without waiting;
- its JSONata needs a JVM bridge that is not there: every ``{% %}`` expression fails with
  ``States.Runtime`` (``'NoneType' object is not callable``);
- ``GetActivityTask`` raises ``NotImplementedError`` (AWS's activity-worker example cannot run),
  ``StartSyncExecution`` answers 404, ``ValidateStateMachineDefinition`` is not implemented, and
  ``CreateStateMachine`` accepts a definition whose ``StartAt`` names no state;
- 1,000 Pass transitions take about 1.1 s of wall time on a thread the caller must poll.

Extending it would mean patching a threaded interpreter's internals (its timers, its JVM-backed
JSONata, its history) one by one; an interpreter on the lab clock is smaller than those patches
and makes every wait a lever. The pieces:

- :mod:`.sim_definition`: parsing and AWS's definition diagnostics;
- :mod:`.sim_paths`, :mod:`.sim_intrinsics`, :mod:`.sim_dataflow`, :mod:`.sim_jsonata`: JSONPath,
  intrinsic functions, the JSONPath data flow and the JSONata query language (jsonata-python, a
  port of jsonata-java, with Step Functions' own functions added);
- :mod:`.sim_choice`: Choice rules;
- :mod:`.sim_runtime`: cooperative processes on the lab clock (nothing sleeps);
- :mod:`.sim_interpreter`, :mod:`.sim_map`, :mod:`.sim_tasks`: the states, retries, catchers,
  timeouts, Map iterations and task integrations;
- :mod:`.sim_engine`, :mod:`.sim_execution`: executions, their history, task tokens, activities,
  Standard and Express; :mod:`.sim_pricing`: what a workload costs as either;
- :mod:`.patch`, :mod:`.patch_integrations`: the API in the sandbox, and tasks reaching the
  sandbox's other services through its boto3 clients;
- :mod:`.state`, :mod:`.view`: snapshots of machines and executions, and the graph view.
"""
