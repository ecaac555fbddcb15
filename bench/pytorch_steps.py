"""PyTorch reference for `cargo xtask bench train`: the same three training steps, timed the same way
(median of 5 steps after 2 warm-ups; the loss is read back every step, as specreg's trainer does).

    python3 bench/pytorch_steps.py [--device cuda|cpu] [--threads N]

E1: MLP 784-2000-10, tanh, BatchNorm1d after the tanh, batch 3500, Adam(amsgrad); with the spectral
penalty on the BatchNorm output (β = 5, α = 1, τ = 10, fixed eigenvectors, PROTOCOL §1.2); CNN: the
MNIST CNN of E2/E3 (conv 16, conv 32, FC 1000), batch 1000.
"""
import argparse
import statistics
import time

import torch
from torch import nn


def e1_network():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 2000), nn.Tanh(), nn.BatchNorm1d(2000), nn.Linear(2000, 10))


def cnn_network():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 1000), nn.Tanh(), nn.Linear(1000, 10),
    )


def spectral_penalty(hidden, eigenvectors, beta=5.0, alpha=1.0, tau=10):
    """Same convention as specreg_regularizer::penalty_of_eigenvalues (0-based index tau anchors)."""
    n = hidden.shape[1]
    centred = hidden - hidden.mean(0)
    lam = (centred @ eigenvectors).pow(2).sum(0) / (hidden.shape[0] - 1)
    lam, _ = torch.sort(lam, descending=True)
    ranks = torch.arange(1, n + 1, device=hidden.device, dtype=hidden.dtype)
    anchor = lam[tau].detach() * (tau + 1) ** alpha
    ratio = lam * ranks.pow(alpha) / anchor
    excess = (ratio - 1.0)[tau + 1:]
    return beta / n * (excess.pow(2) + torch.relu(excess)).sum()


def step_time(net, batch, device, penalised=False):
    torch.manual_seed(0)
    net = net.to(device)
    shape = (batch, 1, 28, 28)
    x = torch.rand(shape, device=device)
    y = torch.arange(batch, device=device) % 10
    eigenvectors = None
    if penalised:
        with torch.no_grad():
            h = net[:4].eval()(x).double()
            net.train()
            cov = torch.cov(h.T)
            eigenvectors = torch.linalg.eigh(cov).eigenvectors.flip(1).float()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, amsgrad=True, eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for k in range(7):
        sync(device)
        started = time.perf_counter()
        if penalised:
            hidden = net[:4](x)
            loss = loss_fn(net[4](hidden), y) + spectral_penalty(hidden, eigenvectors)
        else:
            loss = loss_fn(net(x), y)
        loss.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sync(device)
        if k >= 2:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"PyTorch {torch.__version__} reference steps on {name} (median of 5 after 2 warm-ups)")
    for what, net, batch, penalised in [
        ("E1 step, batch 3500", e1_network(), 3500, False),
        ("E1 step + SpecReg, batch 3500", e1_network(), 3500, True),
        ("CNN step, batch 1000", cnn_network(), 1000, False),
    ]:
        print(f"{what:<32} {step_time(net, batch, device, penalised):>8.4f} s")


if __name__ == "__main__":
    main()
