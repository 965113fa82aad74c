#!/usr/bin/env python3
"""Adds `weights_crc32` to the header of FuRPE network files written before
the field existed (student `.furpe`, part `.expert`), leaving the weights
byte for byte as they are. The loader verifies the field when present.

    python3 tools/add_weights_crc.py FILE [FILE ...]

Layout (shared/src/nets/weights_file.rs): 8-byte magic, little-endian u32
header length, JSON header, weight record. Written atomically.
"""
import json
import os
import struct
import sys
import zlib


def main(paths):
    for path in paths:
        data = open(path, "rb").read()
        magic, (length,) = data[:8], struct.unpack("<I", data[8:12])
        header = json.loads(data[12 : 12 + length])
        weights = data[12 + length :]
        crc = zlib.crc32(weights) & 0xFFFFFFFF
        if header.get("weights_crc32") not in (None, crc):
            sys.exit(f"{path}: header says CRC-32 {header['weights_crc32']:08x}, the weights have {crc:08x}")
        header["weights_crc32"] = crc
        text = json.dumps(header, separators=(",", ":")).encode()
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(magic + struct.pack("<I", len(text)) + text + weights)
        os.replace(tmp, path)
        print(f"{path}: weights_crc32 {crc:08x}")


if __name__ == "__main__":
    main(sys.argv[1:])
