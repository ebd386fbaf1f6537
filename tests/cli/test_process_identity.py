"""Process identity (pid + start stamp) does not move when the wall clock is stepped."""

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from gsm_cli.services import processes
from tests.conftest import wait_for

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


@linux_only
def test_a_stamp_is_seconds_since_boot_and_matches_only_its_process(
    child: subprocess.Popen[bytes],
) -> None:
    stamp = processes.create_time(child.pid)
    assert stamp is not None and stamp < processes.EPOCH_STAMP_MIN
    assert processes.is_alive(child.pid, stamp)
    assert not processes.is_alive(child.pid, stamp - 1)  # another process with a reused pid
    assert not processes.is_alive(child.pid, None)


@linux_only
def test_a_live_process_stays_alive_when_the_clock_is_stepped(
    child: subprocess.Popen[bytes], mocker
) -> None:
    stamp = processes.create_time(child.pid)
    # What an NTP step of 7 s does: /proc/stat's btime (the boot time psutil adds) moves.
    booted = psutil.boot_time()
    mocker.patch("psutil._pslinux.boot_time", return_value=booted + 7)
    assert abs(psutil.Process(child.pid).create_time() - (stamp + booted)) > 5  # psutil moved
    assert processes.is_alive(child.pid, stamp)
    assert processes.create_time(child.pid) == stamp


def test_a_stamp_recorded_as_epoch_seconds_is_still_compared_as_such(
    child: subprocess.Popen[bytes],
) -> None:
    epoch = psutil.Process(child.pid).create_time()  # what an older gsm recorded
    assert processes.is_alive(child.pid, epoch)
    assert not processes.is_alive(child.pid, epoch + 1)
    assert processes.started_at(epoch) == epoch


def test_started_at_gives_the_start_in_epoch_seconds(child: subprocess.Popen[bytes]) -> None:
    started = processes.started_at(processes.create_time(child.pid))
    assert started is not None
    # /proc/stat's btime is whole seconds: psutil's figure may differ by up to one
    assert abs(started - psutil.Process(child.pid).create_time()) < 1.5
    assert started <= time.time()


def test_a_process_that_ended_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    stamp = processes.create_time(proc.pid)
    proc.wait()
    assert not processes.is_alive(proc.pid, stamp)


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")
def test_a_paused_process_is_continued_so_that_it_can_stop(
    child: subprocess.Popen[bytes],
) -> None:
    proc = psutil.Process(child.pid)
    assert not processes.resume_if_paused(child.pid)  # running: nothing to do
    proc.suspend()
    try:
        wait_for(lambda: proc.status() == psutil.STATUS_STOPPED, timeout=5)
        assert processes.resume_if_paused(child.pid)
        wait_for(lambda: proc.status() != psutil.STATUS_STOPPED, timeout=5)
        # and so terminate acts at once, instead of the wait and the kill
        stamp = processes.create_time(child.pid)
        assert processes.terminate_then_kill(child.pid, stamp, 20) == "terminate"
    finally:
        with contextlib.suppress(psutil.Error):
            proc.resume()
