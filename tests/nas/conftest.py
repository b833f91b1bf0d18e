"""One torch thread for these tests: the models are tiny, and threads only contend on a shared CI machine."""

import torch

torch.set_num_threads(1)
