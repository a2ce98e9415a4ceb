#!/usr/bin/python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ from ../shared/testdata
(real TensorFlow/Keras/MNIST files, cut down to a few KB so the fuzzers stay
fast) plus small hand-made files for the formats the shared data lack.
Run from the repository root with Debian's python (h5py): /usr/bin/python3 tools/make-fuzz-seeds.py [shared_testdata_dir]"""
import gzip, io, json, os, struct, sys, zipfile, zlib

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/testdata"
out = "tests/fuzz/corpus"


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(rel):
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()


def records(stream):
    """TFRecord framing -> (framed bytes, payload) per record."""
    p, out_ = 0, []
    while p + 12 <= len(stream):
        n = struct.unpack_from("<Q", stream, p)[0]
        out_.append((stream[p:p + 16 + n], stream[p + 12:p + 12 + n]))
        p += 16 + n
    return out_


# ---- tfrecord: first byte = mode (0 auto, 1 none, 2 gzip, 3 zlib, 4/5 compress then gzip/zlib)
singles = read("tfrecord/pwnall_singles.tfrecords")
lite = read("tfrecord/tfrecord_lite_test.tfrecord")
lite3 = b"".join(r[0] for r in records(lite)[:3])
mnist1 = records(read("tfrecord/tfx_mnist_1000.tfrecord")[:3203 * 2])[0][0]
penguin = read("tfrecord/tfx_penguin_eval.tfrecord.gz")
nextpage = read("tfrecord/tfx_next_page.tfrecord.gz")
put("tfrecord", "singles_auto", b"\x00" + singles)
put("tfrecord", "singles_none", b"\x01" + singles)
put("tfrecord", "lite3_none_nocrc", b"\x07" + lite3)
put("tfrecord", "mnist1_auto", b"\x00" + mnist1)
put("tfrecord", "penguin_gzip", b"\x02" + penguin)
put("tfrecord", "nextpage_auto", b"\x00" + nextpage)
put("tfrecord", "singles_zlib", b"\x03" + zlib.compress(singles))
put("tfrecord", "singles_to_gzip", b"\x04" + singles)
put("tfrecord", "lite3_to_zlib", b"\x05" + lite3)
put("tfrecord", "empty", b"\x00")

# ---- example / example_spec: serialized tf.train.Example payloads
payloads = [r[1] for r in records(singles)]
payloads += [r[1] for r in records(lite)[:4]]
payloads.append(records(mnist1)[0][1])
payloads += [r[1] for r in records(gzip.decompress(penguin))[:3]]
payloads += [r[1] for r in records(gzip.decompress(nextpage))[:3]]
for i, p in enumerate(payloads):
    put("example", "rec%02d" % i, p)
    put("example_spec", "rec%02d" % i, p)

# ---- json / model_config: Keras model configs
cfgs = {
    "dl4j_mlp.json": read("keras-h5/dl4j_mnist_mlp_tf_keras_2_config.json"),
    "kotlindl_lenet.json": read("keras-h5/kotlindl_lenet_fashion_modelConfig.json"),
}
try:
    import h5py
    for name, rel in [("dnnrepair_cnn.json", "keras-h5/dnnrepair_mnist0_cnn_full_keras224.hdf5"),
                      ("hotaruk_mlp.json", "keras-h5/hotaruk_mnist_mlp_full_keras212.h5")]:
        with h5py.File(os.path.join(root, rel), "r") as f:
            v = f.attrs["model_config"]
            cfgs[name] = v.encode() if isinstance(v, str) else bytes(v)
except ImportError:
    pass


def seq(*layers):
    return json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": c, "config": dict(cf, name="l%d" % i)} for i, (c, cf) in enumerate(layers)]}}).encode()


small = {
    "dense.json": seq(("Dense", {"units": 3, "activation": "relu", "batch_input_shape": [None, 4]}),
                      ("Dropout", {"rate": 0.5}), ("Dense", {"units": 2, "activation": "softmax"})),
    "conv.json": seq(("Conv2D", {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                 "activation": "relu", "batch_input_shape": [None, 6, 5, 1]}),
                     ("MaxPooling2D", {"pool_size": [2, 2], "padding": "valid"}),
                     ("BatchNormalization", {"axis": -1}), ("Flatten", {}), ("Dense", {"units": 2})),
    "input_layer.json": json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3, 2], "name": "in"}},
        {"class_name": "Reshape", "config": {"target_shape": [6], "name": "r"}},
        {"class_name": "Dense", "config": {"units": 1, "use_bias": False, "name": "d"}}]}}).encode(),
}
for k, v in list(cfgs.items()) + list(small.items()):
    put("model_config", k, v)
    put("json", k, v)
put("json", "values.json", b'{"a": [1, 2.5, -3e-7, true, false, null, "x\\u00e9\\n"], "b": {"c": NaN, "d": -Infinity}}')

# ---- idx: tiny IDX files (plain and gzipped) cut from real MNIST
labels = gzip.decompress(read("mnist/digits10k-labels-idx1-ubyte.gz"))
images = gzip.decompress(read("mnist/t10k-images-idx3-ubyte.gz"))
lab5 = struct.pack(">I", 0x801) + struct.pack(">I", 5) + labels[8:13]
img2 = struct.pack(">I", 0x803) + struct.pack(">III", 2, 28, 28) + images[16:16 + 2 * 784]
put("idx", "labels5", lab5)
put("idx", "labels5.gz", gzip.compress(lab5))
put("idx", "images2", img2)
put("idx", "images2.gz", gzip.compress(img2))
put("idx", "i16", b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 2) + struct.pack(">4h", 1, -2, 300, -32768))
put("idx", "i32", b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + struct.pack(">2i", 70000, -1))
put("idx", "f32", b"\x00\x00\x0d\x01" + struct.pack(">I", 3) + struct.pack(">3f", 1.5, -0.0, 1e30))
put("idx", "f64", b"\x00\x00\x0e\x01" + struct.pack(">I", 1) + struct.pack(">d", 2.5))
put("idx", "i8", b"\x00\x00\x09\x01" + struct.pack(">I", 2) + b"\x80\x7f")


# ---- npy / npz
def npy(descr, shape, data, fortran=False, major=1):
    st = "(%s)" % (", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", st)
    pre = 10 if major == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    ln = struct.pack("<H", len(h)) if major == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([major, 0]) + ln + h.encode() + data


npys = {
    "u1_3d.npy": npy("|u1", (2, 3, 4), bytes(range(24))),
    "u1_fortran.npy": npy("|u1", (2, 3), bytes(range(6)), fortran=True),
    "i2.npy": npy("<i2", (3,), struct.pack("<3h", 1, -1, -32768)),
    "f8_be.npy": npy(">f8", (2, 2), struct.pack(">4d", 1.5, -2, 0.25, 1e10)),
    "i8.npy": npy("<i8", (2,), struct.pack("<2q", -2, 2 ** 40)),
    "u4.npy": npy("<u4", (1,), struct.pack("<I", 2 ** 32 - 1)),
    "b1.npy": npy("|b1", (3,), b"\x00\x01\x01"),
    "f4_scalar.npy": npy("<f4", (), struct.pack("<f", 1.0)),
    "v2.npy": npy("|u1", (2,), b"\x09\x08", major=2),
    "mnist_labels.npy": npy("|u1", (5,), labels[8:13]),
}
for k, v in npys.items():
    put("npy", k, v)


def npz(members, method, zip64=False):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            if zip64:  # as numpy.savez writes (force_zip64)
                with z.open(name, "w", force_zip64=True) as f:
                    f.write(data)
            else:
                z.writestr(name, data)
    return b.getvalue()


mn = [("x_train.npy", npy("|u1", (1, 28, 28), images[16:16 + 784])), ("y_train.npy", npy("|u1", (1,), b"\x07"))]
put("npz", "stored.npz", npz(mn, zipfile.ZIP_STORED))
put("npz", "deflated.npz", npz(mn, zipfile.ZIP_DEFLATED))
put("npz", "zip64.npz", npz(mn, zipfile.ZIP_STORED, zip64=True))
put("npz", "mixed.npz", npz([("a.npy", npys["i2.npy"]), ("b.npy", npys["f8_be.npy"])], zipfile.ZIP_DEFLATED, zip64=True))
print("seeds written to", out)
