"""PyTorch reference for `cargo xtask bench train` and `cargo xtask bench attacks`: the same training steps
and the same PGD-40 attack, timed the same way.

    python3 bench/pytorch_steps.py [--device cuda|cpu] [--threads N]      # prints a table
    python3 bench/pytorch_steps.py --serve [--device …] [--threads N]     # driven by `cargo xtask bench`

E1: MLP 784-2000-10, tanh, BatchNorm1d after the tanh, batch 3500, Adam(amsgrad); with the spectral
penalty on the BatchNorm output (β = 5, α = 1, τ = 10, fixed eigenvectors, protocol §1.2); CNN: the
MNIST CNN of E2/E3 (conv 16, conv 32, FC 1000), batch 1000, each block evaluated as conv → maxpool → tanh
as specreg does (the same function as conv → tanh → maxpool, which `cnn-tanh-first` times). PGD-40: ε = 0.1, step 0.01, uniform random
start, against the E1 network in evaluation mode, batches of 1,000 MNIST test images.

Like specreg's trainer, a step reads nothing back: the clock stops after a device synchronisation.

In `--serve` mode the script reads commands on stdin and answers one JSON line each, so that the
benchmark can interleave its own measurements with these in one invocation:
    step NAME COUNT           times COUNT steps of NAME (e1, e1-specreg, cnn, cnn-tanh-first) → {"seconds": [...]}
    matmul M K N T COUNT      times COUNT f32 products (M × K) · (K × N), the left factor stored K × M and
                              read transposed when T is 1 → {"seconds": [...]}
    pgd-load MNIST_DIR N B    loads the first N MNIST test images, batches of B → {"batches": K}
    pgd BATCH                 times PGD-40 on batch BATCH (0-based) → {"seconds": s}
    aa-load MODEL MNIST_DIR N B   loads a specreg MLP (safetensors) and the first N MNIST test images,
                              batches of B → {"batches": K, "correct": clean correct}
    apgd BATCH EPS STEPS SEED     torchattacks' APGD-CE on batch BATCH → {"seconds": s, "correct": n}
    autoattack BATCH EPS STEPS TARGETS QUERIES SEED
                              torchattacks' APGD-CE, APGD-T, FAB-T and Square in AutoAttack's order, each
                              on what the ones before left correct (as its MultiAttack does), with the
                              given iterations, target classes and Square queries
                              → {"seconds": s, "stages": [correct after each attack]}
    quit

AutoAttack's ensemble needs torchattacks (`pip install torchattacks`); `autoattack` answers with an
error without it.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from torch import nn


def e1_network():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 2000), nn.Tanh(), nn.BatchNorm1d(2000), nn.Linear(2000, 10))


def cnn_network(tanh_first=False):
    def block(cin, cout):
        pair = [nn.Tanh(), nn.MaxPool2d(2)] if tanh_first else [nn.MaxPool2d(2), nn.Tanh()]
        return [nn.Conv2d(cin, cout, 3), *pair]
    return nn.Sequential(
        *block(1, 16), *block(16, 32),
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


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class Products:
    """Random f32 factors per shape, made once; `time(shape, transposed, count)` times `count` products."""

    def __init__(self, device):
        self.device, self.factors = device, {}

    def time(self, m, k, n, transposed, count):
        key = (m, k, n, transposed)
        if key not in self.factors:
            torch.manual_seed(0)
            lhs = torch.rand((k, m), device=self.device).t() if transposed else torch.rand((m, k), device=self.device)
            self.factors[key] = (lhs, torch.rand((k, n), device=self.device))
        lhs, rhs = self.factors[key]
        seconds = []
        for _ in range(count):
            sync(self.device)
            started = time.perf_counter()
            torch.matmul(lhs, rhs)
            sync(self.device)
            seconds.append(time.perf_counter() - started)
        return seconds


class Stepper:
    """One training configuration, built once; `time(count)` times `count` more steps."""

    def __init__(self, name, device):
        torch.manual_seed(0)
        self.device = device
        self.penalised = name == "e1-specreg"
        if name in ("cnn", "cnn-tanh-first"):
            net, batch = cnn_network(tanh_first=name == "cnn-tanh-first"), 1000
        else:
            net, batch = e1_network(), 3500
        self.net = net.to(device)
        self.x = torch.rand((batch, 1, 28, 28), device=device)
        self.y = torch.arange(batch, device=device) % 10
        self.eigenvectors = None
        if self.penalised:
            with torch.no_grad():
                h = self.net[:4].eval()(self.x).double()
                self.net.train()
                cov = torch.cov(h.T)
                self.eigenvectors = torch.linalg.eigh(cov).eigenvectors.flip(1).float()
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3, amsgrad=True, eps=1e-8)
        self.loss_fn = nn.CrossEntropyLoss()
        self.time(2)  # warm-up

    def step(self):
        if self.penalised:
            hidden = self.net[:4](self.x)
            loss = self.loss_fn(self.net[4](hidden), self.y) + spectral_penalty(hidden, self.eigenvectors)
        else:
            loss = self.loss_fn(self.net(self.x), self.y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def time(self, count):
        times = []
        for _ in range(count):
            sync(self.device)
            started = time.perf_counter()
            self.step()
            sync(self.device)
            times.append(time.perf_counter() - started)
        return times


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    _, _, _, dims = struct.unpack(">BBBB", data[:4])
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def mnist_test(directory):
    def find(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(directory, name)):
                return os.path.join(directory, name)
        raise FileNotFoundError(os.path.join(directory, stem + ".gz"))
    images = read_idx(find("t10k-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    labels = read_idx(find("t10k-labels-idx1-ubyte")).long()
    return images, labels


class Pgd:
    """PGD-40 (ε = 0.1, step 0.01, uniform random start) against the E1 network in evaluation mode."""

    def __init__(self, directory, count, batch, device):
        torch.manual_seed(0)
        self.device = device
        images, labels = mnist_test(directory)
        self.x, self.y = images[:count].to(device), labels[:count].to(device)
        self.batch = batch
        self.net = e1_network().to(device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.attack(0)  # warm-up

    def batches(self):
        return (len(self.y) + self.batch - 1) // self.batch

    def attack(self, k, epsilon=0.1, step=0.01, steps=40):
        x = self.x[k * self.batch:(k + 1) * self.batch]
        y = self.y[k * self.batch:(k + 1) * self.batch]
        adv = (x + torch.empty_like(x).uniform_(-epsilon, epsilon)).clamp(0, 1)
        for _ in range(steps):
            adv.requires_grad_(True)
            loss = nn.functional.cross_entropy(self.net(adv), y)
            grad, = torch.autograd.grad(loss, adv)
            adv = adv.detach() + step * grad.sign()
            adv = torch.min(torch.max(adv, x - epsilon), x + epsilon).clamp(0, 1)
        return self.net(adv).argmax(1).eq(y).sum()

    def time(self, k):
        sync(self.device)
        started = time.perf_counter()
        self.attack(k).item()
        sync(self.device)
        return time.perf_counter() - started


def read_safetensors(path):
    """Tensors and metadata of a safetensors file (the format is a JSON header and raw little-endian
    arrays; read here without the safetensors package)."""
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    dtypes = {"F32": torch.float32, "I64": torch.int64, "F64": torch.float64}
    tensors = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        raw = bytearray(data[8 + length + start:8 + length + end])
        tensors[name] = torch.frombuffer(raw, dtype=dtypes[entry["dtype"]]).reshape(entry["shape"]) if raw else torch.zeros(entry["shape"], dtype=dtypes[entry["dtype"]])
    return tensors, metadata


def specreg_mlp(path):
    """A specreg MLP (its configuration in the file's metadata) with the file's weights, in evaluation
    mode: Linear → tanh (→ BatchNorm1d) per hidden layer, then the readout."""
    tensors, metadata = read_safetensors(path)
    config = json.loads(metadata["specreg_config"])
    if "Mlp" not in config or config["Mlp"].get("whiten_after") is not None:
        raise ValueError(f"{path}: only specreg MLPs without whitening are supported here")
    config = config["Mlp"]
    layers, width = [nn.Flatten()], config["input"]
    for k, hidden in enumerate(config["hidden"]):
        linear = nn.Linear(width, hidden)
        linear.weight.data.copy_(tensors[f"layers.{k}.weight"])
        linear.bias.data.copy_(tensors[f"layers.{k}.bias"])
        layers += [linear, nn.Tanh()]
        if config["batch_norm"]:
            norm = nn.BatchNorm1d(hidden)
            for field in ["weight", "bias", "running_mean", "running_var"]:
                getattr(norm, field).data.copy_(tensors[f"norms.{k}.{field}"])
            layers.append(norm)
        width = hidden
    readout = nn.Linear(width, config["classes"])
    readout.weight.data.copy_(tensors["readout.weight"])
    readout.bias.data.copy_(tensors["readout.bias"])
    net = nn.Sequential(*layers, readout).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class Ensemble:
    """A trained specreg MLP and MNIST test images for torchattacks' APGD and AutoAttack's ensemble."""

    def __init__(self, model, directory, count, batch, device):
        self.device = device
        images, labels = mnist_test(directory)
        self.x, self.y = images[:count].to(device), labels[:count].to(device)
        self.batch = batch
        self.net = specreg_mlp(model).to(device)

    def batches(self):
        return (len(self.y) + self.batch - 1) // self.batch

    def slice(self, k):
        return self.x[k * self.batch:(k + 1) * self.batch], self.y[k * self.batch:(k + 1) * self.batch]

    def correct(self, x, y):
        with torch.no_grad():
            return self.net(x).argmax(1).eq(y)

    def apgd(self, k, eps, steps, seed):
        import torchattacks
        x, y = self.slice(k)
        attack = torchattacks.APGD(self.net, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=seed, loss="ce")
        sync(self.device)
        started = time.perf_counter()
        correct = int(self.correct(attack(x, y), y).sum())
        sync(self.device)
        return {"seconds": time.perf_counter() - started, "correct": correct}

    def autoattack(self, k, eps, steps, targets, queries, seed):
        import torchattacks
        x, y = self.slice(k)
        attacks = [
            torchattacks.APGD(self.net, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=seed, loss="ce"),
            torchattacks.APGDT(self.net, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=seed, n_classes=targets + 1),
            torchattacks.FAB(self.net, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=seed, multi_targeted=True, n_classes=targets + 1),
            torchattacks.Square(self.net, norm="Linf", eps=eps, n_queries=queries, n_restarts=1, seed=seed),
        ]
        sync(self.device)
        started = time.perf_counter()
        robust = self.correct(x, y)
        stages = []
        for attack in attacks:
            index = robust.nonzero().flatten()
            if len(index) > 0:
                adversarial = attack(x[index], y[index])
                robust[index] = self.correct(adversarial, y[index])
            stages.append(int(robust.sum()))
        sync(self.device)
        return {"seconds": time.perf_counter() - started, "stages": stages}


def describe(device):
    """Version, build (CPU kernel level, BLAS) and where it runs: figures from different builds differ."""
    if device.type == "cuda":
        where = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        where = f"CPU, {torch.get_num_threads()} threads"
    blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    return f"PyTorch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()} kernels, {blas}) on {where}"


def serve(device):
    steppers, pgd, ensemble, products = {}, None, None, Products(device)
    print(json.dumps({"ready": describe(device)}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        try:
            if words[0] == "step":
                name, count = words[1], int(words[2])
                if name not in steppers:
                    steppers[name] = Stepper(name, device)
                answer = {"seconds": steppers[name].time(count)}
            elif words[0] == "matmul":
                m, k, n, transposed, count = (int(w) for w in words[1:6])
                answer = {"seconds": products.time(m, k, n, transposed == 1, count)}
            elif words[0] == "pgd-load":
                pgd = Pgd(words[1], int(words[2]), int(words[3]), device)
                answer = {"batches": pgd.batches()}
            elif words[0] == "pgd":
                answer = {"seconds": pgd.time(int(words[1]))}
            elif words[0] == "aa-load":
                ensemble = Ensemble(words[1], words[2], int(words[3]), int(words[4]), device)
                answer = {"batches": ensemble.batches(), "correct": int(ensemble.correct(ensemble.x, ensemble.y).sum())}
            elif words[0] == "apgd":
                answer = ensemble.apgd(int(words[1]), float(words[2]), int(words[3]), int(words[4]))
            elif words[0] == "autoattack":
                answer = ensemble.autoattack(int(words[1]), float(words[2]), int(words[3]), int(words[4]), int(words[5]), int(words[6]))
            else:
                answer = {"error": f"unknown command {words[0]!r}"}
        except Exception as e:  # reported to the benchmark, which prints it
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    parser.add_argument("--serve", action="store_true", help="answer commands on stdin (see the module doc)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.serve:
        serve(device)
        return
    print(f"{describe(device)} reference steps (median of 5 after 2 warm-ups)")
    for what, name in [("E1 step, batch 3500", "e1"), ("E1 step + SpecReg, batch 3500", "e1-specreg"), ("CNN step, batch 1000", "cnn"),
                       ("CNN step, conv → tanh → pool", "cnn-tanh-first")]:
        print(f"{what:<32} {statistics.median(Stepper(name, device).time(5)):>8.4f} s")


if __name__ == "__main__":
    main()
