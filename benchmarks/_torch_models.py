"""The module bench_torch saves; a module of its own so state_dict can name its class."""

from __future__ import annotations

import torch


class BenchMLP(torch.nn.Module):
    """n_in -> hidden (x depth) -> n_out, ReLU between layers."""

    def __init__(self, n_in: int = 20, hidden: int = 64, n_out: int = 2, depth: int = 1) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = [torch.nn.Linear(n_in, hidden), torch.nn.ReLU()]
        for _ in range(depth - 1):
            layers += [torch.nn.Linear(hidden, hidden), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(hidden, n_out))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
