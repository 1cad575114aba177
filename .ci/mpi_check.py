"""Data-parallel training under mpirun (Open MPI), checked against single-process runs.

- 2 and 3 processes end with bit-identical weights on every process (the tool hashes each process's tensors and
  compares them at the end; the check reads its verdict).
- 2 processes with batch B equal one process with batch 2B on the same sample order, within 1e-5 relative (Float32:
  the gradient sums are added in another order).
- 1 process under mpirun is bit-identical to no mpirun (a world of one is the single-process path).
- A run resumed under mpirun from a checkpoint written under mpirun — at an epoch, and after SIGTERM mid-epoch — is
  bit-identical to the uninterrupted run.
- A process killed mid-training stops the others within a bounded time, with a failing exit status, and leaves no
  model file (none torn, none half-written).
- Launched without a loadable MPI library: one clear line naming the package.
Usage: python3 .ci/mpi_check.py path/to/backprop
"""
import os, signal, subprocess, sys, tempfile, time
import numpy as np
from safetensors.numpy import load_file

backprop = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="backprop-mpi-")
environment = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1", BACKPROP_THREADS="1")
common = ["--data", "builtin:spirals", "--model", "dense 32 relu, dense 16 relu, dense 2", "--seed", "7", "--quiet"]


def mpirun(processes, arguments, **kwargs):
    return subprocess.run(["mpirun", "--oversubscribe", "-np", str(processes), backprop, "train"] + common + arguments,
                          cwd=work, env=environment, capture_output=True, text=True, **kwargs)


def single(arguments):
    return subprocess.run([backprop, "train"] + common + arguments, cwd=work, env=environment, capture_output=True, text=True)


def weights(name):
    return load_file(os.path.join(work, name))


def same_bits(a, b):
    return sorted(a) == sorted(b) and all(a[k].tobytes() == b[k].tobytes() for k in a)


checks = 0
for processes in (2, 3):
    run = mpirun(processes, ["--epochs", "20", "--batch-size", "16", "--output", f"p{processes}.safetensors"])
    assert run.returncode == 0, run.stderr
    assert f"the weights are identical on all {processes}" in run.stdout, run.stdout + run.stderr
    checks += 1

reference = single(["--epochs", "20", "--batch-size", "32", "--output", "single32.safetensors"])
assert reference.returncode == 0, reference.stderr
a, b = weights("p2.safetensors"), weights("single32.safetensors")
worst = max(np.linalg.norm(a[k] - b[k]) / np.linalg.norm(b[k]) for k in b)
assert worst < 1e-5, f"2 processes of batch 16 against 1 of batch 32: relative difference {worst}"
checks += 1

one = mpirun(1, ["--epochs", "20", "--batch-size", "16", "--output", "mpi1.safetensors"])
alone = single(["--epochs", "20", "--batch-size", "16", "--output", "alone.safetensors"])
assert one.returncode == 0 and alone.returncode == 0, one.stderr + alone.stderr
assert same_bits(weights("mpi1.safetensors"), weights("alone.safetensors")), "mpirun -np 1 differs from a plain run"
checks += 1

# Resume from a checkpoint written at an epoch boundary.
full = mpirun(2, ["--epochs", "12", "--batch-size", "16", "--output", "full.safetensors"])
assert full.returncode == 0, full.stderr
part = mpirun(2, ["--epochs", "12", "--batch-size", "16", "--checkpoint", "c6.safetensors", "--checkpoint-every", "6",
                  "--stop-when-loss-change-below", "1e9", "--patience", "5", "--output", "part.safetensors"])
assert part.returncode == 0, part.stderr
resumed = mpirun(2, ["--epochs", "12", "--batch-size", "16", "--resume", "c6.safetensors", "--output", "resumed.safetensors"])
assert resumed.returncode == 0, resumed.stderr
assert same_bits(weights("resumed.safetensors"), weights("full.safetensors")), "resumed at an epoch differs from the full run"
checks += 1

# Resume after SIGTERM to one process mid-training: the processes agree to stop after the same batch.
long_run = ["mpirun", "--oversubscribe", "-np", "2", backprop, "train", "--data", "builtin:spirals", "--seed", "7",
            "--epochs", "150", "--batch-size", "8", "--layers", "32"]


def start_and_signal(arguments, marker, signal_number):
    """Starts a two-process run, waits until rank 0 reports epoch 10, and signals the second process."""
    process = subprocess.Popen(long_run + arguments, cwd=work, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if "epoch 10/" in line:
            break
    ranks = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    trainers = [int(p) for p in ranks if int(p) != process.pid and open(f"/proc/{p}/cmdline").read().startswith(backprop)]
    assert len(trainers) == 2, trainers
    signalled = time.monotonic()
    os.kill(max(trainers), signal_number)
    out, err = process.communicate(timeout=120)
    return process.returncode, err, time.monotonic() - signalled


status, err, _ = start_and_signal(["--checkpoint", "term.safetensors"], "term.safetensors", signal.SIGTERM)
assert status != 0 and "interrupted: wrote term.safetensors" in err, (status, err)
resumed = subprocess.run(long_run + ["--resume", "term.safetensors", "--output", "term-resumed.safetensors", "--quiet"],
                         cwd=work, env=environment, capture_output=True, text=True)
assert resumed.returncode == 0, resumed.stderr
uninterrupted = subprocess.run(long_run + ["--output", "term-full.safetensors", "--quiet"], cwd=work, env=environment,
                               capture_output=True, text=True)
assert uninterrupted.returncode == 0, uninterrupted.stderr
assert same_bits(weights("term-resumed.safetensors"), weights("term-full.safetensors")), "resumed after SIGTERM differs"
checks += 1

# A process that dies: the job ends within a bounded time, and no model file appears.
status, err, elapsed = start_and_signal(["--output", "never.safetensors"], "never.safetensors", signal.SIGKILL)
assert status != 0, "mpirun succeeded although a process was killed"
assert elapsed < 60, f"the job took {elapsed:.0f} s to end after a process was killed"
assert not os.path.exists(os.path.join(work, "never.safetensors")), "a model file was written"
assert not [f for f in os.listdir(work) if f.startswith(".never")], os.listdir(work)
checks += 1

# Started by a launcher, without a loadable MPI library.
missing = subprocess.run([backprop, "train", "--epochs", "1"], cwd=work, capture_output=True, text=True,
                         env=dict(os.environ, OMPI_COMM_WORLD_SIZE="2", BACKPROP_MPI_LIBRARY="/nonexistent/libmpi.so"))
assert missing.returncode == 1 and "apt-get install openmpi-bin" in missing.stderr, missing.stderr
assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
checks += 1

print(f"mpi: {checks} checks passed (2 and 3 processes identical; 2×16 = 1×32 to {worst:.1e}; -np 1 = plain; "
      f"resumed at an epoch and after SIGTERM bit-identical; a killed process ended the job in {elapsed:.1f} s)")
