"""tf.distribute on CPU: 2 logical devices under MirroredStrategy, and 2 worker processes on 127.0.0.1 under
MultiWorkerMirroredStrategy, reach the weights of 1 replica with the same global batch; a killed worker resumes."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")
ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5  # float32 all-reduce sums in a different order than one device's batch mean


def env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", **extra}


def run_worker(mode, out, *args, **extra_env):
    done = subprocess.run([sys.executable, str(WORKER), mode, str(out), *args], env=env(**extra_env),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(out)


def assert_same_weights(a, b):
    for i in range(4):
        np.testing.assert_allclose(a[f"arr_{i}"], b[f"arr_{i}"], atol=TOLERANCE)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return run_worker("single", tmp_path_factory.mktemp("single") / "w.npz")


def test_mirrored_two_replicas_match_one(single, tmp_path):
    mirrored = run_worker("mirrored", tmp_path / "w.npz")
    assert int(mirrored["replicas"]) == 2 and int(single["replicas"]) == 1
    assert_same_weights(mirrored, single)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_cluster(out_dir, *args, kill_at=None):
    """Two workers on 127.0.0.1; worker 1 optionally dies at the end of epoch ``kill_at``."""
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for index in range(2):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        extra = [*args, "--kill-at-epoch", str(kill_at)] if kill_at is not None and index == 1 else list(args)
        procs.append(subprocess.Popen([sys.executable, str(WORKER), "multiworker", str(out_dir / f"w{index}.npz"),
                                       *extra], env=env(TF_CONFIG=config), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def wait_all(procs):
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]


def test_multiworker_matches_one_replica_and_resumes_after_a_kill(single, tmp_path):
    wait_all(start_cluster(tmp_path))
    together = np.load(tmp_path / "w0.npz")
    assert int(together["replicas"]) == 2
    assert_same_weights(together, single)

    resumed = tmp_path / "resumed"
    resumed.mkdir()
    backup = ["--backup", str(resumed / "backup")]
    first = start_cluster(resumed, *backup, kill_at=1)
    first[1].wait(timeout=300)
    assert first[1].returncode == 3  # worker 1 was "preempted" after epoch 1
    first[0].kill()  # its peer is stuck in a collective: the cluster restarts as a whole
    first[0].wait()
    assert (resumed / "backup").is_dir()
    (resumed / "w0.npz.epochs").write_text("")
    for marker in resumed.glob("done.*"):
        marker.unlink()
    wait_all(start_cluster(resumed, *backup))
    # the cluster resumed after the chief's last backed-up epoch (0 or 1, depending on when the kill landed)
    epochs = [int(e) for e in (resumed / "w0.npz.epochs").read_text().split()]
    assert epochs[0] >= 1 and epochs == list(range(epochs[0], 4))
    assert_same_weights(np.load(resumed / "w0.npz"), single)


def test_epoch_backup_resumes_weights_and_optimiser_state(tmp_path):
    """A loop of one-epoch fits killed after epoch 2 and resumed into a fresh model ends with the uninterrupted
    run's weights: the backup carries the model and its Adam moments, and the loop's history."""
    import keras

    from tfagiqa.distribute import EpochBackup

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")

    def fresh(seed):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.05), "mse")
        return model

    def train(model, backup, epochs, start=None):
        history = (backup.restore(model) if backup else None) or []
        if start is not None:
            assert len(history) == start
        for epoch in range(len(history), epochs):
            history.append(model.fit(x, y, batch_size=8, shuffle=False, verbose=0).history["loss"][0])
            if backup:
                backup.save(model, history, epoch + 1)
        return history

    reference = fresh(0)
    expected = train(reference, None, 4)
    backup = EpochBackup(tmp_path / "backup")
    train(fresh(0), backup, 2)
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["state.pkl", "step2.weights.h5"]
    resumed = fresh(1)  # other initial weights and an unbuilt optimiser: everything must come from the backup
    history = train(resumed, backup, 4, start=2)
    np.testing.assert_allclose(history, expected, rtol=1e-5)
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)
    backup.delete()
    assert not (tmp_path / "backup").exists()
