#!/usr/bin/env python3
"""gen_vectors.py -- SPDY/3.1 frames for tests/unit/mockapi/stream/test_spdy.c, made without spdy.c.

Header blocks are compressed by Python's zlib (an implementation independent of the parser's use of
zlib) with the SPDY/3 dictionary, built here from its word list rather than copied from spdy.c, so a
typo in either copy shows up as an inflate failure. Run from anywhere; writes the .bin files next to
this script. The expected results live in test_spdy.c and README.md.
"""
import os
import struct
import zlib

# The SPDY/3 dictionary: 32-bit length-prefixed words, then a run of bare text.
WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base "
    "content-encoding content-language content-length content-location content-md5 "
    "content-range content-type date etag expect expires from host if-match if-modified-since "
    "if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
).split() + ["200 OK"] + "version HTTP/1.1 url public set-cookie keep-alive origin".split()
TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICT = b"".join(struct.pack("!I", len(w)) + w.encode() for w in WORDS) + TAIL.encode()
assert len(DICT) == 1423, len(DICT)
assert zlib.adler32(DICT) == 0xE3C6A7C2, hex(zlib.adler32(DICT))

HERE = os.path.dirname(os.path.abspath(__file__))


def block(headers, count=None):
    """A raw name/value block: 32-bit count, then 32-bit length-prefixed names and values."""
    out = struct.pack("!I", len(headers) if count is None else count)
    for name, value in headers:
        out += struct.pack("!I", len(name)) + name + struct.pack("!I", len(value)) + value
    return out


def control(ftype, flags, payload, version=3):
    return struct.pack("!HHI", 0x8000 | version, ftype, (flags << 24) | len(payload)) + payload


def syn_stream(z, sid, headers, flags=0, assoc=0, priority=0, raw=None, mode=zlib.Z_SYNC_FLUSH):
    raw = block(headers) if raw is None else raw
    comp = z.compress(raw) + z.flush(mode)
    return control(1, flags, struct.pack("!IIBB", sid, assoc, priority << 5, 0) + comp)


def data(sid, flags, payload):
    return struct.pack("!II", sid, (flags << 24) | len(payload)) + payload


def write(name, blob):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(blob)


def main():
    # What client-go's SPDY executor opens for `exec -i` with a TTY, one compressor for all blocks
    # (so later blocks refer back to earlier ones), then a ping, stdin EOF, resets and goaway.
    z = zlib.compressobj(level=9, zdict=DICT)
    s = b""
    for i, kind in enumerate([b"error", b"stdin", b"stdout", b"stderr", b"resize"]):
        s += syn_stream(z, 2 * i + 1, [(b"streamtype", kind)], priority=i % 8)
    s += control(6, 0, struct.pack("!I", 1))                      # PING 1
    s += data(3, 1, b"")                                          # stdin EOF
    s += data(9, 0, b'{"Width":80,"Height":24}\n')                # resize
    s += control(3, 0, struct.pack("!II", 1, 5))                  # RST_STREAM 1 CANCEL
    s += control(7, 0, struct.pack("!II", 9, 0))                  # GOAWAY 9 OK
    write("exec_session.bin", s)

    # Several headers, one with two NUL-separated values, an empty value, and a SYN_REPLY and a
    # HEADERS frame through the same stream.
    z = zlib.compressobj(zdict=DICT)
    s = syn_stream(z, 1, [(b"streamtype", b"stdout"), (b"x-multi", b"a\0bc"), (b"empty", b""),
                          (b"port", b"8080")], flags=1, assoc=0, priority=7)
    comp = z.compress(block([(b"status", b"200 OK")])) + z.flush(zlib.Z_SYNC_FLUSH)
    s += control(2, 0, struct.pack("!I", 1) + comp)
    comp = z.compress(block([(b"version", b"HTTP/1.1")])) + z.flush(zlib.Z_SYNC_FLUSH)
    s += control(8, 1, struct.pack("!I", 1) + comp)
    write("headers_multi.bin", s)

    # Malformed ones: each must fail with the message test_spdy.c expects.
    z = zlib.compressobj(zdict=DICT)
    write("bad_count.bin", syn_stream(z, 1, [(b"h%d" % i, b"v") for i in range(65)]))
    z = zlib.compressobj(zdict=DICT)
    write("bad_truncated.bin",
          syn_stream(z, 1, [], raw=block([(b"streamtype", b"error")], count=2)))
    z = zlib.compressobj(zdict=b"not the spdy dictionary")
    write("bad_dict.bin", syn_stream(z, 1, [(b"streamtype", b"error")]))
    z = zlib.compressobj(zdict=DICT)
    write("bad_finish.bin", syn_stream(z, 1, [(b"streamtype", b"error")], mode=zlib.Z_FINISH))
    # A valid zlib header with a dictionary id, then bytes that are no deflate stream.
    hdr = bytes([0x78, 0xBB]) + struct.pack("!I", zlib.adler32(DICT))
    write("bad_zlib.bin", control(1, 0, struct.pack("!IIBB", 1, 0, 0, 0) + hdr + b"\xff" * 12))
    write("bad_version.bin", control(6, 0, struct.pack("!I", 1), version=2))


if __name__ == "__main__":
    main()
