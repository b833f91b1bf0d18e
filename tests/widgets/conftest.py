"""One torch thread for these tests: the models are tiny, and threads only contend on a shared CI
machine (the NAS training test compares with a table built on one thread)."""

import torch

torch.set_num_threads(1)
