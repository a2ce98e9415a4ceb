// A structural check of an HDF5 file's global heap collections, run before the
// file is handed to libhdf5.
//
// Why: Keras keeps its variable-length string attributes (model_config,
// training_config, and sometimes layer_names / weight_names) in global heap
// collections, and libhdf5 1.10.8 (Debian 12) trusts them: an object whose
// size runs past its collection makes it copy past a buffer (R aborts with
// "malloc(): invalid size"), and a zeroed free-space object makes it loop
// forever. This check enforces what the HDF5 file format specification
// (section III.E, "Global Heap", collection version 1) requires and libhdf5
// only asserts in debug builds:
//   * "GCOL", version 1, reserved bytes, collection size (size-of-lengths
//     bytes, from the superblock): the whole collection lies inside the file;
//   * objects follow each other: index (2 bytes), reference count (2),
//     reserved (4), size (size-of-lengths), data padded to 8 bytes; each
//     object (padded) ends inside the collection; object indexes are unique;
//   * the free-space object (index 0) is last and its size (header included)
//     is exactly the rest of the collection; a tail shorter than an object
//     header is free space too.
// Every "GCOL" signature followed by version 1 is checked (libhdf5 rejects
// other versions itself). What it cannot see: a heap reference inside an
// attribute that names a missing object or a wrong length (that needs the
// object headers parsed); see the report in tests/cpp/test_h5_guard.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kn {

// Checks the file at `path`. Throws kn::Error("corrupt HDF5 global heap
// collection at offset N: ...") on the first violation; returns quietly when
// the file has no HDF5 superblock (libhdf5 then reports "not an HDF5 file")
// or no global heap. Reads the file in 1 MiB blocks plus each collection.
void check_h5_global_heaps(const std::string& path);

// The same check on a file image in memory (tests and fuzzing).
void check_h5_global_heaps_bytes(const uint8_t* data, size_t size);

}  // namespace kn
