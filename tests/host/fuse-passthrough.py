#!/usr/bin/env python3
# A minimal passthrough FUSE file system on raw /dev/fuse (no libfuse):
# one file, "disk.img", whose bytes are those of a real file. Like any
# libfuse high-level file system mounted without -o use_ino (sshfs,
# bindfs-style tools, rclone, s3fs), it numbers its inodes itself: the file
# is inode 2. Usage: fuse-passthrough.py REALFILE MOUNTPOINT  (root; daemonises
# nothing: run it in the background; it exits at unmount).
import ctypes, errno, os, struct, sys

real, mnt = sys.argv[1], sys.argv[2]
rfd = os.open(real, os.O_RDWR)
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
if libc.mount(b"fusepass", mnt.encode(), b"fuse.fusepass", 0, opts.encode()) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))

IN_HDR = struct.Struct("<IIQQIIIHH")  # 40
OUT_HDR = struct.Struct("<IiQ")      # 16
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # 88

def attr(node):
    if node == 1:
        return ATTR.pack(1, 0, 0, 0, 0, 0, 0, 0, 0, 0o40755, 2, 0, 0, 0, 4096, 0)
    st = os.fstat(rfd)
    return ATTR.pack(2, st.st_size, (st.st_size + 511) // 512, int(st.st_atime), int(st.st_mtime),
                     int(st.st_ctime), 0, 0, 0, 0o100600, 1, 0, 0, 0, 4096, 0)

def reply(unique, err=0, data=b""):
    os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(data), -err, unique) + data)

while True:
    try:
        buf = os.read(fd, (1 << 20) + 8192)
    except OSError as e:
        if e.errno in (errno.ENODEV,):
            break
        if e.errno in (errno.EINTR, errno.ENOENT, errno.EAGAIN):
            continue
        raise
    ln, op, unique, node, uid, gid, pid, _, _ = IN_HDR.unpack_from(buf)
    body = buf[IN_HDR.size:ln]
    if op == 26:  # INIT
        major, minor, ra, flags = struct.unpack_from("<IIII", body)
        reply(unique, 0, struct.pack("<IIIIHHIIHHII6I", 7, 31, ra, 1 << 5, 16, 12, 1 << 20, 1, 256, 0, 0, 0, *[0] * 6))
    elif op == 1:  # LOOKUP
        name = body.split(b"\0")[0]
        if node == 1 and name == b"disk.img":
            reply(unique, 0, struct.pack("<QQQQII", 2, 0, 1, 1, 0, 0) + attr(2))
        else:
            reply(unique, errno.ENOENT)
    elif op in (3, 4):  # GETATTR, SETATTR
        reply(unique, 0, struct.pack("<QII", 1, 0, 0) + attr(node))
    elif op in (14, 27):  # OPEN, OPENDIR
        reply(unique, 0, struct.pack("<QII", 0, 0, 0))
    elif op == 15:  # READ
        fh, off, size = struct.unpack_from("<QQI", body)
        reply(unique, 0, os.pread(rfd, size, off))
    elif op == 16:  # WRITE
        fh, off, size = struct.unpack_from("<QQI", body)
        data = body[40:40 + size]
        n = os.pwrite(rfd, data, off)
        reply(unique, 0, struct.pack("<II", n, 0))
    elif op == 17:  # STATFS
        reply(unique, 0, struct.pack("<QQQQQIIII6I", 1 << 20, 1 << 19, 1 << 19, 100, 50, 4096, 255, 4096, 0, *[0] * 6))
    elif op in (18, 20, 25, 29, 38):  # RELEASE, FSYNC, FLUSH, RELEASEDIR, DESTROY
        if op == 20:
            os.fsync(rfd)
        reply(unique)
    elif op == 28:  # READDIR: empty
        reply(unique, 0, b"")
    elif op in (2, 36, 42):  # FORGET, INTERRUPT, BATCH_FORGET: no reply
        pass
    else:
        reply(unique, errno.ENOSYS)
