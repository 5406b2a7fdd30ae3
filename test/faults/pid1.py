#!/usr/bin/env python3
"""pid1.py PIDFILE COMMAND [ARG...]: runs COMMAND as PID 1 of a new PID namespace (with its own
/proc), as a node's entrypoint runs, writes its PID as the caller sees it to PIDFILE, and exits as
it did: its status, or 128 + the signal that killed it (unshare --fork reports a SIGKILLed child
as status 1)."""
import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        sys.exit(f"pid1.py: {what}: {os.strerror(errno)}")


check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare")
# As unshare(1) does: nothing mounted in the new namespace (its /proc) reaches the caller's.
check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
child = os.fork()
if child == 0:
    check(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    os.execvp(sys.argv[2], sys.argv[2:])
with open(sys.argv[1] + ".tmp", "w") as pidfile:
    pidfile.write(f"{child}\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
_, status = os.waitpid(child, 0)
sys.exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
