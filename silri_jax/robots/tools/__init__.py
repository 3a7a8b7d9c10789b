"""Set-up tools for a real arm's work cell, behind ``python -m silri_jax.robots``.

- ``limits``: the workspace box, orientation cone and joint ranges seen in recorded
  demonstrations (``infer-limits``);
- ``record_pose``: the arm's current end-effector pose as the cell's reset pose
  (``record-pose``);
- ``crop``: a frame from each of the cell's cameras with its crop drawn (``crop``);
- ``rt_check``: whether this machine holds the control loop's rate, and the network
  round trip to the arm (``rt-check``);
- ``task_file``: the in-place rewrite of a task file's values that ``record-pose`` and
  ``crop`` share (the rest of the file stays byte-identical).

docs/robot_tools.md describes each command with an example.
"""
