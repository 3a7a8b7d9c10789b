"""Dataset interchange: LeRobotDataset v3.0 files, and conversion to and from the
project's demonstration files, replay checkpoints and HIL-SERL demo pickles."""
