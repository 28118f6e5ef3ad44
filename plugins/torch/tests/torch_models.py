"""Small modules the tests save; importable by name, as state_dict models need."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """20 -> hidden -> 2, with a buffer so buffers round-trip too."""

    def __init__(self, n_in: int = 20, hidden: int = 64, n_out: int = 2) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.scale


class TwoInputs(nn.Module):
    """A forward that takes two named tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(3, 2)
        self.right = nn.Linear(4, 2)

    def forward(self, numbers: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        return self.left(numbers) + self.right(extra)


class TinyImageNet(nn.Module):
    """uint8 images [N, H, W, 3] -> 3 class scores."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float() / 255.0
        x = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return self.head(x)


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(5, 2)
        self.b = nn.Linear(5, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a(x), torch.sigmoid(self.b(x))


class DataDependent(nn.Module):
    """Control flow on a tensor's values: torch.export cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.lin(x)
        return -self.lin(x)


class Tied(nn.Module):
    """Two layers sharing one weight tensor (safetensors refuses shared memory as is)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4, bias=False)
        self.b = nn.Linear(4, 4, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def trained(module: nn.Module, seed: int = 0) -> nn.Module:
    """The module with seeded random weights, in eval mode."""
    torch.manual_seed(seed)
    for p in module.parameters():
        nn.init.normal_(p, std=0.5)
    return module.eval()


class WithNonPersistentBuffer(nn.Module):
    """A buffer the state_dict does not hold: the module cannot be built on the meta device."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("offset", torch.full((3,), 0.5), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) + self.offset
