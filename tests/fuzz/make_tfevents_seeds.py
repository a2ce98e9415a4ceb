#!/usr/bin/env python3
# Seeds for fuzz_tfevents (tests/fuzz/corpus/tfevents) from the real event
# files in ../shared/testdata/tfevents: per file, its first record (the
# file_version event) and its small records (<= 1 KiB, up to 4 KiB in all),
#   <name>.raw:    mode byte 0 + those records framed as a valid event file;
#   <name>.events: mode byte 1 + the same Event payloads, 2-byte length each.
# Usage: python3 tests/fuzz/make_tfevents_seeds.py ../shared/testdata/tfevents tests/fuzz/corpus/tfevents
import glob, os, struct, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF

def frame(payload):
    head = struct.pack('<Q', len(payload))
    return head + struct.pack('<I', masked(head)) + payload + struct.pack('<I', masked(payload))

def records(b):
    at, out = 0, []
    while at + 12 <= len(b):
        n = struct.unpack('<Q', b[at:at + 8])[0]
        out.append(b[at + 12:at + 12 + n])
        at += 12 + n + 4
    return out

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for f in sorted(glob.glob(os.path.join(src, '*', '*tfevents*'))):
    recs = records(open(f, 'rb').read())
    pick, total = [], 0
    for i, r in enumerate(recs):
        if i == 0 or (len(r) <= 1024 and total + len(r) <= 4096):
            pick.append(r)
            total += len(r)
    name = os.path.basename(os.path.dirname(f)) + ('-empty' if f.endswith('profile-empty') else '')
    open(os.path.join(out, name + '.raw'), 'wb').write(b'\x00' + b''.join(frame(r) for r in pick))
    open(os.path.join(out, name + '.events'), 'wb').write(
        b'\x01' + b''.join(struct.pack('<H', len(r)) + r for r in pick if len(r) <= 65535))
