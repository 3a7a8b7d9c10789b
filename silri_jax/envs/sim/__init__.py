"""Simulated Panda tasks in MuJoCo."""
