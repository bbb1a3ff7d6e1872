"""The dynamic triage stage: run the submitted MCP servers in the sandbox and record what they really do.

* :mod:`triage.dynamic.harness` runs inside the sandbox (discovery, introspection, canary calls, observation);
* :mod:`triage.dynamic.stage` is the host-side service that drives it and judges the records;
* :mod:`triage.dynamic.checks` is the ``dynamic.*`` check catalogue; :mod:`triage.dynamic.pins` pins tool sets.
"""
