#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# fscrypt-key-status.py DIR: prints the version of DIR's fscrypt policy and,
# for a v1 policy, its key's status in the file system's keyring:
#   "v1 <descriptor hex> present|absent|incompletely-removed"
# fscrypt-key-status.py DIR DESCRIPTOR: the status of the key with that
# descriptor (16 hex digits) in the keyring of DIR's file system.
# (FS_IOC_GET_ENCRYPTION_POLICY_EX, FS_IOC_GET_ENCRYPTION_KEY_STATUS).
# A key added to a process keyring (add_key "logon", as homed 252 does) is
# not seen here: only the file system's own keyring.
import fcntl
import os
import struct
import sys


def iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord('f') << 8) | nr


fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
desc = bytes.fromhex(sys.argv[2]) if len(sys.argv) > 2 else None
buf = bytearray(struct.pack('Q', 64) + bytes(64))  # policy_size, policy
try:
    if desc is not None:
        buf[8] = 0
    else:
        fcntl.ioctl(fd, iowr(22, 9), buf)
except OSError as e:
    print('none', e.strerror)
    sys.exit(0)
version = buf[8]
if version != 0:
    print('v2')
    sys.exit(0)
if desc is None:
    desc = bytes(buf[8 + 4:8 + 12])
# struct fscrypt_get_key_status_arg: key_spec (type, reserved, u[32]),
# __reserved[6], status, status_flags, user_count, __out_reserved[13].
arg = bytearray(struct.pack('II', 1, 0) + desc + bytes(24) + bytes(24) + bytes(4 * 16))
fcntl.ioctl(fd, iowr(26, len(arg)), arg)
status = struct.unpack_from('I', arg, 64)[0]
print('v1', desc.hex(), {1: 'absent', 2: 'present', 3: 'incompletely-removed'}.get(status, str(status)))
