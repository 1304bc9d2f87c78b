#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes tests/corpus/: broken IDX, model and network files, each with the error minicnn must
give (tests/corpus/EXPECTED: file, status, a part of the message). tests/test_corpus.c checks
every file. Run again after changing a format: /usr/bin/python3 tests/make_corpus.py"""

import gzip
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus")
seeds = os.path.join(here, "fuzz", "corpus")
expected = []


def write(kind, name, data, status, needle):
    os.makedirs(os.path.join(out, kind), exist_ok=True)
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)
    expected.append("%s/%s\t%s\t%s" % (kind, name, status, needle))


# ---- IDX ----
good = open(os.path.join(seeds, "idx", "mnist-2.idx"), "rb").read()
write("idx", "empty.idx", b"", "MC_ERR_FORMAT", "truncated: the file ends at byte 0")
write("idx", "magic.idx", b"\x01\x02\x08\x03" + good[4:], "MC_ERR_FORMAT", "not an IDX file")
write("idx", "type.idx", good[:2] + b"\x07" + good[3:], "MC_ERR_FORMAT", "not an IDX file")
write("idx", "ndim0.idx", good[:3] + b"\x00" + good[4:], "MC_ERR_FORMAT", "1 to 5 dimensions")
write("idx", "truncated-header.idx", good[:9], "MC_ERR_FORMAT", "while reading the dimensions")
write("idx", "truncated-data.idx", good[:500], "MC_ERR_FORMAT", "ends at byte 500 while reading the data")
write("idx", "trailing.idx", good + b"\x00", "MC_ERR_FORMAT", "but the file goes on")
write("idx", "zero-dim.idx", struct.pack(">IIII", 0x803, 2, 0, 28) + good[16:], "MC_ERR_FORMAT",
      "dimension 2 (at byte 8) is 0")
write("idx", "overflow.idx", struct.pack(">IIIII", 0x804, 65535, 65535, 65535, 65535),
      "MC_ERR_FORMAT", "the dimensions multiply to more than")
write("idx", "promises-more.idx", struct.pack(">IIII", 0x803, 60000, 28, 28) + good[16:],
      "MC_ERR_FORMAT", "truncated")
write("idx", "nan.idx", struct.pack(">BBBBI", 0, 0, 0x0D, 1, 2) + struct.pack(">ff", 1, float("nan")),
      "MC_ERR_FORMAT", "element 2 (at byte 12) is nan")
gz = gzip.compress(good, mtime=0)
write("idx", "truncated.idx.gz", gz[: len(gz) // 2], "MC_ERR_FORMAT", "truncated")
bad = bytearray(gz)
bad[len(bad) // 2] ^= 0xFF
write("idx", "corrupt.idx.gz", bytes(bad), "MC_ERR_FORMAT", "")
crc = bytearray(gz)
crc[-6] ^= 0x01  # the CRC-32 in the gzip trailer
write("idx", "bad-crc.idx.gz", bytes(crc), "MC_ERR_FORMAT", "incorrect data check")
length = bytearray(gz)
length[-1] ^= 0x01  # the length (ISIZE) in the gzip trailer
write("idx", "bad-length.idx.gz", bytes(length), "MC_ERR_FORMAT", "incorrect length check")
write("idx", "no-trailer.idx.gz", gz[:-8], "MC_ERR_FORMAT", "before its end and its trailer")
write("idx", "after-member.idx.gz", gz + b"junk", "MC_ERR_FORMAT", "not another gzip member")
write("idx", "zeros-after-member.idx.gz", gz + bytes(8), "MC_ERR_FORMAT", "not another gzip member")
write("idx", "twice.idx.gz", gz + gz, "MC_ERR_FORMAT", "but the file goes on")
# members that follow one another are one stream (RFC 1952)
write("idx", "members.idx.gz", gzip.compress(good[:100], mtime=0) + gzip.compress(b"", mtime=0) +
      gzip.compress(good[100:], mtime=0), "MC_OK", "")
# a header that promises 1,000,000 images of 28x28 (784 MB) in a 40-byte gzip file: refused
# from the file's size (deflate expands at most 1032 to 1) before anything is allocated
write("idx", "liar.idx.gz", gzip.compress(struct.pack(">IIII", 0x803, 1000000, 28, 28), mtime=0),
      "MC_ERR_FORMAT", "can hold at most")

# ---- model files ----
model = open(os.path.join(seeds, "model", "model.mcnn"), "rb").read()
ckpt = open(os.path.join(seeds, "model", "checkpoint.mcnn"), "rb").read()


def with_header(payload_z, plen, crc, version=1, kind=1):
    head = b"MINICNN\0" + struct.pack("<IIQQI", version, kind, len(payload_z), plen, crc)
    return head + struct.pack("<I", zlib.crc32(head)) + payload_z


write("model", "empty.mcnn", b"", "MC_ERR_FORMAT", "not a minicnn model file")
write("model", "magic.mcnn", b"MINICNX\0" + model[8:], "MC_ERR_FORMAT", "not a minicnn model file")
write("model", "header-crc.mcnn", model[:20] + bytes([model[20] ^ 1]) + model[21:], "MC_ERR_FORMAT",
      "the header's CRC-32 does not match")
payload = zlib.decompress(model[40:])
write("model", "newer.mcnn", with_header(model[40:], len(payload), zlib.crc32(payload), version=9),
      "MC_ERR_FORMAT", "format version 9; this minicnn reads version 1")
write("model", "kind.mcnn", with_header(model[40:], len(payload), zlib.crc32(payload), kind=7),
      "MC_ERR_FORMAT", "kind 7")
write("model", "truncated.mcnn", model[: len(model) - 10], "MC_ERR_FORMAT", "truncated model file")
write("model", "payload-crc.mcnn", with_header(model[40:], len(payload), zlib.crc32(payload) ^ 1),
      "MC_ERR_FORMAT", "the payload's CRC-32 does not match")
# A valid container whose network text is not a network.
text = b"layers = [reluLayer"
bad_payload = struct.pack("<I", len(text)) + text
z = zlib.compress(bad_payload)
write("model", "bad-network.mcnn", with_header(z, len(bad_payload), zlib.crc32(bad_payload)),
      "MC_ERR_FORMAT", "the network in the file is invalid")
# The arrays of one architecture under the text of another: a file for a different network.
n = struct.unpack("<I", payload[:4])[0]
other = payload[4 : 4 + n].replace(b"convolution2dLayer(3,2,", b"convolution2dLayer(3,3,")
swapped = struct.pack("<I", len(other)) + other + payload[4 + n :]
z = zlib.compress(swapped)
write("model", "other-architecture.mcnn", with_header(z, len(swapped), zlib.crc32(swapped)),
      "MC_ERR_FORMAT", "in the file but")
write("model", "checkpoint-truncated.mcnn", ckpt[:-1], "MC_ERR_FORMAT", "truncated model file")

# ---- network files ----
nets = {
    "unknown-layer.net": (b"layers = [convolution2DLayer(5,20)]", "MC_ERR_FORMAT",
                          "did you mean 'convolution2dLayer'?"),
    "unknown-option.net": (b"x = reluLayer('Nme','a')", "MC_ERR_FORMAT", "did you mean 'Name'?"),
    "negative-size.net": (b"x = convolution2dLayer(-5,20)", "MC_ERR_FORMAT",
                          "filterSize must be a positive integer"),
    "nan-epsilon.net": (b"x = groupNormalizationLayer(2,'Epsilon',NaN)", "MC_ERR_INVALID",
                        "Epsilon must be a finite number of at least 1e-05, not nan"),
    "huge-number.net": (b"x = fullyConnectedLayer(1e40)", "MC_ERR_FORMAT",
                        "outputSize must be a positive integer"),
    "empty-name.net": (b"x = [imageInputLayer([4 4 1]); reluLayer('Name',''); reluLayer('Name','');"
                       b" fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
                       "MC_OK", ""),
    "empty-string-groups.net": (b"x = groupNormalizationLayer('')", "MC_ERR_FORMAT",
                                "numGroups \"\" is not valid"),
    "unclosed.net": (b"x = [reluLayer\n", "MC_ERR_FORMAT", "'[' is never closed"),
    "binary.net": (b"\x7fELF\x02\x01\x01", "MC_ERR_FORMAT", "unexpected byte 0x7f"),
    "nothing.net": (b"% only a comment\n", "MC_ERR_FORMAT", "the file defines no network"),
    "groups-channels.net": (b"x = [imageInputLayer([28 28 3]); convolution2dLayer(5,20); "
                            b"groupNormalizationLayer(3); fullyConnectedLayer(10); softmaxLayer; "
                            b"classificationLayer]",
                            "MC_ERR_SHAPE",
                            "the number of groups (3) must divide the number of input channels (20)"),
    "pool-too-large.net": (b"x = [imageInputLayer([4 4 1]); maxPooling2dLayer(5); "
                           b"fullyConnectedLayer(2); softmaxLayer; classificationLayer]",
                           "MC_ERR_SHAPE", "pooling window"),
    "cycle.net": (b"l = layerGraph([imageInputLayer([4 4 1],'Name','in'); additionLayer(2,'Name','add');"
                  b" reluLayer('Name','r'); fullyConnectedLayer(2); softmaxLayer; classificationLayer])\n"
                  b"l = connectLayers(l,'r','add/in2')", "MC_ERR_INVALID", "the network has a cycle"),
}
# Hostile sizes: nesting beyond the parser's bound (a stack overflow before) and large values
# (quadratic work before), and what MATLAB users write that minicnn words for them.
nets.update({
    "deep-brackets.net": (b"x = " + b"[" * 20000 + b"]" * 20000, "MC_ERR_FORMAT",
                          "values nested more than 256 deep"),
    "deep-calls.net": (b"x = " + b"reluLayer(" * 3000 + b")" * 3000, "MC_ERR_FORMAT",
                       "values nested more than 256 deep"),
    "long-vector.net": (b"v = [" + b"1 " * 100000 + b"];\nx = [featureInputLayer(2); "
                        b"fullyConnectedLayer(2); softmaxLayer; classificationLayer]", "MC_OK", ""),
    "many-layers.net": (b"x = [featureInputLayer(2)\n" + b"reluLayer\n" * 5000 +
                        b"fullyConnectedLayer(2); softmaxLayer; classificationLayer];\n"
                        b"l = layerGraph(x);\nl = connectLayers(l, 'relu_5000', 'fc/in')", "MC_ERR_FORMAT",
                        "input 'fc/in' is already connected to 'relu_5000'"),
    "empty-graph.net": (b"lgraph = layerGraph;", "MC_ERR_INVALID", "the network has no layers"),
    "missing-softmax.net": (b"x = [imageInputLayer([4 4 1]); fullyConnectedLayer(2); "
                            b"classificationLayer]", "MC_ERR_INVALID",
                            "Missing softmax layer. A classification layer must be preceded by a "
                            "softmax layer."),
    "unprovided-layer.net": (b"x = [imageInputLayer([4 4 1]); lstmLayer(10)]", "MC_ERR_FORMAT",
                             "'lstmLayer' is a MATLAB layer that minicnn does not provide"),
})
for name, (data, status, needle) in sorted(nets.items()):
    write("net", name, data, status, needle)

# ---- PNG images ----
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, rows, ihdr_extra=b""):
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


good_png = png(28, 28, [bytes((i * 9 + j) % 256 for j in range(28)) for i in range(28)])
write("png", "text.png", b"this is not an image\n", "MC_ERR_FORMAT", "not a PNG file: it starts with")
write("png", "empty.png", b"", "MC_ERR_FORMAT", "not a PNG file: it starts with nothing")
write("png", "signature-only.png", good_png[:5], "MC_ERR_FORMAT", "inside the signature")
write("png", "truncated-idat.png", good_png[:60], "MC_ERR_FORMAT", "truncated PNG: the file ends at byte 60")
damaged = bytearray(good_png)
damaged[45] ^= 0x40  # inside IDAT's data
write("png", "idat-crc.png", bytes(damaged), "MC_ERR_FORMAT", "chunk IDAT at byte 33 fails its CRC check")
huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
write("png", "huge-header.png", huge + good_png[33:], "MC_ERR_FORMAT",
      "declares 100000 x 100000 pixels (width x height), over the limit")
write("png", "valid-gray.png", png(28, 28, [bytes(28)] * 28), "MC_OK", "")

with open(os.path.join(out, "EXPECTED"), "w") as f:
    f.write("# file\tstatus\tpart of the message (written by tests/make_corpus.py)\n")
    f.write("\n".join(expected) + "\n")
