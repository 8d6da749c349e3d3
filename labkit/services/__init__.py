"""labkit by AWS service: one folder per service the course touches, named as moto names it.

Every folder holds the same few modules, each by role; a role a service does not need is absent:

- ``patch.py`` (and ``patch_<aspect>.py``): where moto is made faithful to AWS. ``install(sandbox,
  stack)`` patches moto while a sandbox runs (:mod:`labkit.sandbox.patches` says when). The only
  modules of a service that import moto.
- ``access.py``: who may do what to the service's resources, asked of the one policy engine.
- ``state.py``: read-only snapshots of what the service holds, for views and checks.
- ``sim_<concept>.py``: simulators of what moto lacks, plain Python on the lab clock (no moto, no
  Jupyter), so that patches, lessons and tests share one model.
- ``view.py`` (and ``view_<aspect>.py``): renderers of snapshots as HTML and as text (no Jupyter).
- ``widget.py``: the live Jupyter view (the only modules that import ipywidgets, with
  :mod:`labkit.widgets`).

``edge`` is the one folder that is not an AWS service: the edge network (locations, latency, the
viewer, HTTP into CloudFront and Global Accelerator) that both those services stand on.
The layer rules are a contract that ``make test`` checks (``tests/test_layers.py``).
"""
