"""Work in progress: files written outside the writer lock (new segments of an `add`, a merge's
output, codebooks, segments prepared by the workers of a distributed build) until one commit
publishes them.

A job is a folder ``jobs/<id>/`` inside the index folder plus a lock file ``jobs/<id>.lock``
that the process which started the job holds (flock) for as long as the job lives. Any process
may write into a live job's folder (the workers of a distributed build do). Committing moves the
job's files into the index folder under their final names (renames, atomic) before the manifest
that names them is published. Cleanup, which runs under the writer lock with every commit,
removes the folder of every job whose lock nobody holds: a job that failed, or whose process
was killed, publishes nothing and its files go away; a live job is never touched. Jobs are
created under the writer lock too, so cleanup never sees a job half made.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid

from .._atomic import fsync_dir

JOBS = "jobs"
_SUFFIX = ".lock"


def jobs_folder(index_folder: str) -> str:
    return os.path.join(index_folder, JOBS)


class Job:
    """A live job of this process (see the module's description). Close it when done: its
    folder (whatever was not committed out of it) is removed."""

    def __init__(self, index_folder: str, job_id: str, fd: int):
        self.index_folder = index_folder
        self.id = job_id
        self.folder = os.path.join(jobs_folder(index_folder), job_id)
        self._fd: int | None = fd

    @classmethod
    def start(cls, index_folder: str) -> Job:
        """A new job; call with the index's writer lock held."""
        root = jobs_folder(index_folder)
        os.makedirs(root, exist_ok=True)
        job_id = uuid.uuid4().hex[:16]
        fd = os.open(os.path.join(root, job_id + _SUFFIX), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.mkdir(os.path.join(root, job_id))
        except BaseException:
            os.close(fd)
            raise
        return cls(index_folder, job_id, fd)

    @property
    def live(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        """Ends the job: removes its folder and lock file (whatever was committed was moved out)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.folder)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.folder + _SUFFIX)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> Job:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {'live' if self.live else 'closed'}, {self.index_folder})"


def live_job_folder(index_folder: str, job_id: str) -> str:
    """The folder of a job another process started, checked to be live."""
    if not isinstance(job_id, str) or not job_id.isalnum():
        raise ValueError(f"job must be a job id (Job.id), got {job_id!r}")
    folder = os.path.join(jobs_folder(index_folder), job_id)
    lock = folder + _SUFFIX
    if not os.path.isdir(folder) or not os.path.exists(lock) or _free(lock):
        raise ValueError(f"job {job_id} of {index_folder} is not live (finished, failed or never started)")
    return folder


def _free(lock_path: str) -> bool:
    """Whether nobody holds the lock (the job's process ended or closed it)."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def remove_dead_jobs(index_folder: str) -> list[str]:
    """Removes the folder and lock file of every job nobody holds; call under the writer lock.
    Returns the ids removed."""
    root = jobs_folder(index_folder)
    if not os.path.isdir(root):
        return []
    removed = []
    names = os.listdir(root)
    ids = {n[: -len(_SUFFIX)] if n.endswith(_SUFFIX) else n for n in names}
    for job_id in ids:
        lock = os.path.join(root, job_id + _SUFFIX)
        fd = None
        try:
            if os.path.exists(lock):
                try:
                    fd = os.open(lock, os.O_RDWR)
                except FileNotFoundError:  # the job closed itself meanwhile (close is not under the writer lock)
                    fd = None
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # live
            path = os.path.join(root, job_id)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            removed.append(job_id)
        finally:
            if fd is not None:
                os.close(fd)
    if removed:
        fsync_dir(root)
    return removed
