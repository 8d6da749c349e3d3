"""Choosing a database: a working model of each engine of the course's "Which DB?" table.

Not an AWS service of its own: the models the databases lesson and its ``db_choice`` check run
workloads against. :mod:`.sim_engines` holds real query engines where a faithful embedded one
exists (SQL, MongoDB's API, a graph traversal, CQL's partition-key rules, Redis, time series,
a search index); :mod:`.sim_models` what each service is (limits, consistency, latency, cost,
from the fact table); :mod:`.sim_workloads` the workloads and the evaluation that says what broke;
:mod:`.view` the report as HTML and text.
"""
