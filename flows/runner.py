"""Prefect task runners from the config's ``runner`` section: local threads, Dask or Ray."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from forecasting_app.config import ConfigError, RunnerConfig

__all__ = ["WORKER_ENV", "describe", "local_cluster", "running_on", "task_runner"]

# A cluster started here runs one task per worker process, each pinned to one thread: with
# as many workers as cores the folds do not fight over them. TensorFlow and the BLAS read
# these when the worker imports them.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def task_runner(config: RunnerConfig) -> TaskRunner[Any]:
    """The Prefect task runner that ``config`` asks for, not yet started.

    Parameters
    ----------
    config : RunnerConfig
        ``kind`` ``"local"``: Prefect's thread pool with ``workers`` threads in this process
        (one, the default, runs tasks one after another). ``"dask"``: prefect-dask's
        ``DaskTaskRunner`` on the scheduler at ``address`` (``tcp://host:8786``), or on a
        ``distributed.LocalCluster`` of ``workers`` one-thread processes
        (:func:`local_cluster`). ``"ray"``:
        prefect-ray's ``RayTaskRunner`` on the cluster at ``address`` (``ray://host:10001``
        or ``auto``), or on a local Ray instance with ``workers`` CPUs.

    Returns
    -------
    TaskRunner
        Pass it to a flow's ``with_options(task_runner=...)``; the flow starts and stops it.

    Raises
    ------
    ConfigError
        When the package of a ``dask`` or ``ray`` runner is not installed.
    """
    if config.kind == "local":
        return ThreadPoolTaskRunner(max_workers=config.workers)
    if config.kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise _missing("dask") from None
        if config.address:
            return DaskTaskRunner(address=config.address)
        return DaskTaskRunner(
            cluster_class="flows.runner.local_cluster",
            cluster_kwargs={
                "n_workers": config.workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
                "env": dict(WORKER_ENV),
            },
        )
    try:
        from prefect_ray import RayTaskRunner
    except ImportError:
        raise _missing("ray") from None
    if config.address:
        return RayTaskRunner(address=config.address)
    return RayTaskRunner(
        init_kwargs={
            "num_cpus": config.workers,
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {"env_vars": dict(WORKER_ENV)},
        }
    )


# What Dask's nanny sets in a worker's environment before spawning it; None unsets it.
_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def local_cluster(**kwargs: Any) -> Any:
    """A ``distributed.LocalCluster`` whose workers keep glibc's own ``malloc`` thresholds.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` before it spawns a worker (its
    config ``distributed.nanny.pre-spawn-environ``), to hand freed memory back to the
    system sooner. Setting it also switches off glibc's adaptive ``mmap`` threshold, so
    every array above 128 KiB is mapped and unmapped afresh: a backtest fold's fit took
    16.2 CPU seconds in such a worker against 9.8 in a plain process. Workers started here
    go without it; a cluster of your own can do the same by setting that config key to
    ``null`` where its nannies run.

    Parameters
    ----------
    **kwargs
        Passed to ``distributed.LocalCluster``.

    Returns
    -------
    distributed.LocalCluster
        Started; close it (or use it as a context manager) when done.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({_MALLOC_TRIM: None}):
        return LocalCluster(**kwargs)


def describe(config: RunnerConfig) -> dict[str, Any]:
    """What ``config`` asks for: ``{"kind", "address", "workers"}`` (JSON-ready)."""
    return {"kind": config.kind, "address": config.address, "workers": config.workers}


def running_on(config: RunnerConfig) -> dict[str, Any]:
    """What the current flow run's task runner runs on, asked of the cluster itself.

    Call it inside a flow run whose task runner came from :func:`task_runner`: a Dask
    cluster reports its scheduler address and worker threads, Ray its address and CPUs,
    so an existing cluster's real size is recorded rather than ``workers``.

    Parameters
    ----------
    config : RunnerConfig
        The section the task runner was made from.

    Returns
    -------
    dict
        ``{"kind", "address", "workers"}``; ``address`` is ``None`` for ``local``.
    """
    if config.kind == "dask":
        from prefect_dask import get_dask_client

        with get_dask_client() as client:
            threads = client.nthreads()
            address = str(client.scheduler_info()["address"])
        return {"kind": "dask", "address": address, "workers": int(sum(threads.values()))}
    if config.kind == "ray":
        import ray

        cpus = ray.cluster_resources().get("CPU", 0)
        address = ray.get_runtime_context().gcs_address
        return {"kind": "ray", "address": str(address), "workers": int(cpus)}
    return describe(config)


def _missing(kind: str) -> ConfigError:
    return ConfigError(
        f"`runner.kind` is {kind!r}, which needs the prefect-{kind} package: install it with "
        f"`pip install 'forecasting[{kind}]'` (or `pip install -e '.[{kind}]'` in a checkout), "
        "or set `runner.kind=local`"
    )
