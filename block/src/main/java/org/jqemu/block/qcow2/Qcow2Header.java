package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.block.BlockException;

/**
 * The qcow2 image header (docs/interop/qcow2.txt) with its header extensions, parsed from and
 * serialised to the first cluster. {@link #parse} validates every field it can check without
 * reading other metadata, so the driver never uses an unchecked value.
 */
final class Qcow2Header {
    static final int MAGIC = 0x514649fb;
    static final int V2_LENGTH = 72;
    static final int V3_MIN_LENGTH = 104;
    /** Header length qemu-img 7.2 writes for v3 (includes the compression type byte and padding). */
    static final int V3_LENGTH = 112;
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;
    static final int MAX_BACKING_NAME = 1023;
    /** Limits as in QEMU: 32 MiB of L1 entries, 8 MiB of refcount table, 65536 snapshots. */
    static final long MAX_L1_BYTES = 32L << 20;
    static final long MAX_REFTABLE_BYTES = 8L << 20;
    static final int MAX_SNAPSHOTS = 65536;
    /** Offsets in L1/L2/refcount tables are bits 9..55. */
    static final long OFFSET_MASK = 0x00fffffffffffe00L;

    static final long INCOMPAT_DIRTY = 1;
    static final long INCOMPAT_CORRUPT = 2;
    static final long INCOMPAT_DATA_FILE = 4;
    static final long INCOMPAT_COMPRESSION = 8;
    static final long INCOMPAT_EXTL2 = 16;
    static final long INCOMPAT_KNOWN = 31;
    static final long COMPAT_LAZY_REFCOUNTS = 1;
    static final long AUTOCLEAR_BITMAPS = 1;
    static final long AUTOCLEAR_DATA_FILE_RAW = 2;

    static final int EXT_END = 0;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;
    static final int EXT_FEATURE_TABLE = 0x6803f857;
    static final int EXT_BITMAPS = 0x23852875;
    static final int EXT_CRYPTO = 0x0537be77;
    static final int EXT_DATA_FILE = 0x44415441;

    static final int COMPRESSION_ZLIB = 0;
    static final int COMPRESSION_ZSTD = 1;

    /** Names for the feature name table, as qemu-img writes it (type, bit, name). */
    private static final Object[][] FEATURE_NAMES = {
        {0, 0, "dirty bit"}, {0, 1, "corrupt bit"}, {0, 2, "external data file"},
        {0, 3, "compression type"}, {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
        {2, 0, "bitmaps"}, {2, 1, "raw external data"},
    };

    record Extension(int type, byte[] data) { }

    int version;
    long backingFileOffset;
    int backingFileSize;
    int clusterBits;
    long size;
    int cryptMethod;
    int l1Size;
    long l1TableOffset;
    long refcountTableOffset;
    int refcountTableClusters;
    int nbSnapshots;
    long snapshotsOffset;
    long incompatible;
    long compatible;
    long autoclear;
    int refcountOrder = 4;
    int headerLength;
    int compressionType;

    String backingFile;
    String backingFormat;
    /** Feature names read from the image (for error messages), by "type:bit". */
    final java.util.Map<String, String> featureNames = new java.util.HashMap<>();
    /** Extensions we do not interpret, kept verbatim when the header is rewritten. */
    final List<Extension> otherExtensions = new ArrayList<>();

    long clusterSize() {
        return 1L << clusterBits;
    }

    static BlockException invalid(String message) {
        return new BlockException(message);
    }

    /**
     * Parses and validates the header. fileLength bounds every offset; head holds at least the first
     * cluster (or the whole file if shorter).
     */
    static Qcow2Header parse(byte[] head, long fileLength) throws BlockException {
        ByteBuffer b = ByteBuffer.wrap(head);
        if (head.length < 4 || b.getInt(0) != MAGIC) {
            throw invalid("Image is not in qcow2 format");
        }
        if (head.length < V2_LENGTH) {
            throw invalid("qcow2 header too short");
        }
        Qcow2Header h = new Qcow2Header();
        h.version = b.getInt(4);
        if (h.version < 2 || h.version > 3) {
            throw invalid("Unsupported qcow2 version " + h.version);
        }
        h.backingFileOffset = b.getLong(8);
        h.backingFileSize = b.getInt(16);
        h.clusterBits = b.getInt(20);
        if (h.clusterBits < MIN_CLUSTER_BITS || h.clusterBits > MAX_CLUSTER_BITS) {
            throw invalid("Unsupported cluster size: 2^" + Integer.toUnsignedString(h.clusterBits));
        }
        h.size = b.getLong(24);
        h.cryptMethod = b.getInt(32);
        h.l1Size = b.getInt(36);
        h.l1TableOffset = b.getLong(40);
        h.refcountTableOffset = b.getLong(48);
        h.refcountTableClusters = b.getInt(56);
        h.nbSnapshots = b.getInt(60);
        h.snapshotsOffset = b.getLong(64);
        if (h.version == 2) {
            h.headerLength = V2_LENGTH;
        } else {
            if (head.length < V3_MIN_LENGTH) {
                throw invalid("qcow2 header too short");
            }
            h.incompatible = b.getLong(72);
            h.compatible = b.getLong(80);
            h.autoclear = b.getLong(88);
            h.refcountOrder = b.getInt(96);
            h.headerLength = b.getInt(100);
            if (Integer.toUnsignedLong(h.headerLength) < V3_MIN_LENGTH) {
                throw invalid("qcow2 header too short");
            }
            if (Integer.toUnsignedLong(h.headerLength) > h.clusterSize()) {
                throw invalid("qcow2 header exceeds cluster size");
            }
            if (h.headerLength > head.length) {
                throw invalid("qcow2 header too short");
            }
            if (h.headerLength > V3_MIN_LENGTH) {
                h.compressionType = b.get(104) & 0xff;
            }
        }
        h.readExtensions(b, fileLength);
        h.validate(fileLength);
        return h;
    }

    private void readExtensions(ByteBuffer b, long fileLength) throws BlockException {
        long end = backingFileOffset != 0 ? Math.min(backingFileOffset, clusterSize()) : clusterSize();
        end = Math.min(end, b.capacity());
        int pos = headerLength;
        while (pos + 8 <= end) {
            int type = b.getInt(pos);
            long len = Integer.toUnsignedLong(b.getInt(pos + 4));
            pos += 8;
            if (type == EXT_END) {
                return;
            }
            if (len > end - pos) {
                throw invalid("Invalid extension length");
            }
            byte[] data = new byte[(int) len];
            b.get(pos, data);
            pos += (int) ((len + 7) & ~7L);
            switch (type) {
                case EXT_BACKING_FORMAT -> {
                    if (len > 1023) {
                        throw invalid("ERROR: ext_backing_format: len=" + len + " too large (>=1023)");
                    }
                    backingFormat = cString(data);
                }
                case EXT_FEATURE_TABLE -> {
                    for (int i = 0; i + 48 <= data.length; i += 48) {
                        featureNames.put((data[i] & 0xff) + ":" + (data[i + 1] & 0xff),
                                cString(java.util.Arrays.copyOfRange(data, i + 2, i + 48)));
                    }
                }
                case EXT_CRYPTO -> throw invalid("Encrypted images are not supported by jqemu");
                case EXT_DATA_FILE -> throw invalid("External data files are not supported by jqemu");
                default -> otherExtensions.add(new Extension(type, data));
            }
        }
    }

    private static String cString(byte[] data) {
        int n = 0;
        while (n < data.length && data[n] != 0) {
            n++;
        }
        return new String(data, 0, n, StandardCharsets.UTF_8);
    }

    private void validate(long fileLength) throws BlockException {
        long cs = clusterSize();
        long unknown = incompatible & ~INCOMPAT_KNOWN;
        if (unknown != 0) {
            throw invalid("Unsupported qcow2 feature(s): " + describeFeatures(unknown));
        }
        if ((incompatible & INCOMPAT_DATA_FILE) != 0) {
            throw invalid("External data files are not supported by jqemu");
        }
        if ((incompatible & INCOMPAT_EXTL2) != 0 && clusterBits < 14) {
            throw invalid("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
        }
        if (Integer.toUnsignedLong(refcountOrder) > 6) {
            throw invalid("Reference count entry width too large; may not exceed 64 bits");
        }
        if (version == 2 && refcountOrder != 4) {
            throw invalid("Invalid refcount order for a version 2 image");
        }
        if ((incompatible & INCOMPAT_COMPRESSION) != 0 ? compressionType == COMPRESSION_ZLIB
                : compressionType != COMPRESSION_ZLIB) {
            throw invalid("Corrupted image: compression type bit and compression type field disagree");
        }
        if (compressionType > COMPRESSION_ZSTD) {
            throw invalid("qcow2: unknown compression type: " + compressionType);
        }
        if (cryptMethod != 0) {
            throw invalid("Encrypted images are not supported by jqemu");
        }
        if (size < 0) {
            throw invalid("Image size too large");
        }
        if (backingFileOffset != 0) {
            if (Integer.toUnsignedLong(backingFileSize) > MAX_BACKING_NAME
                    || backingFileOffset < 0 || backingFileOffset > cs
                    || Integer.toUnsignedLong(backingFileSize) > cs - backingFileOffset) {
                throw invalid("Backing file name too long");
            }
        }
        long reftableBytes = Integer.toUnsignedLong(refcountTableClusters) * cs;
        if (refcountTableClusters == 0 || reftableBytes > MAX_REFTABLE_BYTES) {
            throw invalid(refcountTableClusters == 0 ? "Image does not contain a reference count table"
                    : "Reference count table too large");
        }
        checkTable(refcountTableOffset, reftableBytes, "Reference count table", fileLength);
        if (Integer.toUnsignedLong(l1Size) * 8 > MAX_L1_BYTES) {
            throw invalid("Active L1 table too large");
        }
        long l2Coverage = cs * (cs / 8);
        long minL1 = (size + l2Coverage - 1) / l2Coverage;
        if (l1Size < minL1) {
            throw invalid("L1 table is too small");
        }
        if (l1Size > 0) {
            checkTable(l1TableOffset, l1Size * 8L, "Active L1 table", fileLength);
        }
        // Each entry takes at least 40 bytes; QEMU bounds the table at 64 MiB before counting entries.
        if (Integer.toUnsignedLong(nbSnapshots) * 40 > (64L << 20)) {
            throw invalid("Snapshot table too large");
        }
        if (Integer.toUnsignedLong(nbSnapshots) > MAX_SNAPSHOTS) {
            throw invalid("Too many snapshots");
        }
        if (nbSnapshots > 0) {
            checkTable(snapshotsOffset, 1, "Snapshot table", fileLength);
        }
    }

    /** A table must be cluster-aligned and lie inside the file. */
    private void checkTable(long offset, long bytes, String what, long fileLength) throws BlockException {
        if (offset <= 0 || (offset & (clusterSize() - 1)) != 0) {
            throw invalid(what + " offset invalid");
        }
        if (offset > fileLength || bytes > fileLength - offset) {
            throw invalid(what + " offset invalid");
        }
    }

    String describeFeatures(long mask) {
        StringBuilder sb = new StringBuilder();
        for (int bit = 0; bit < 64; bit++) {
            if ((mask & (1L << bit)) != 0) {
                if (!sb.isEmpty()) {
                    sb.append(", ");
                }
                String name = featureNames.get("0:" + bit);
                sb.append(name != null ? name : "Unknown incompatible feature: " + Long.toHexString(1L << bit));
            }
        }
        return sb.toString();
    }

    /** Serialises the header, its extensions and the backing file name into one cluster-sized buffer. */
    byte[] toBytes() throws BlockException {
        ByteBuffer b = ByteBuffer.allocate((int) clusterSize());
        b.putInt(0, MAGIC).putInt(4, version).putInt(20, clusterBits).putLong(24, size)
                .putInt(32, cryptMethod).putInt(36, l1Size).putLong(40, l1TableOffset)
                .putLong(48, refcountTableOffset).putInt(56, refcountTableClusters)
                .putInt(60, nbSnapshots).putLong(64, snapshotsOffset);
        if (version >= 3) {
            headerLength = Math.max(headerLength, V3_LENGTH);
            b.putLong(72, incompatible).putLong(80, compatible).putLong(88, autoclear)
                    .putInt(96, refcountOrder).putInt(100, headerLength).put(104, (byte) compressionType);
        } else {
            headerLength = V2_LENGTH;
        }
        b.position(headerLength);
        try {
            if (backingFormat != null) {
                putExtension(b, EXT_BACKING_FORMAT, backingFormat.getBytes(StandardCharsets.UTF_8));
            }
            if (version >= 3) {
                putExtension(b, EXT_FEATURE_TABLE, featureTable());
            }
            for (Extension e : otherExtensions) {
                putExtension(b, e.type(), e.data());
            }
            b.putLong(0); // end-of-extensions marker
            if (backingFile != null) {
                byte[] name = backingFile.getBytes(StandardCharsets.UTF_8);
                if (name.length > MAX_BACKING_NAME) {
                    throw invalid("Backing file name too long");
                }
                backingFileOffset = b.position();
                backingFileSize = name.length;
                b.put(name);
            } else {
                backingFileOffset = 0;
                backingFileSize = 0;
            }
        } catch (java.nio.BufferOverflowException e) {
            throw invalid("Header extensions and backing file name do not fit in one cluster");
        }
        int end = b.position();
        b.putLong(8, backingFileOffset).putInt(16, backingFileSize);
        return java.util.Arrays.copyOf(b.array(), end);
    }

    private static void putExtension(ByteBuffer b, int type, byte[] data) {
        b.putInt(type).putInt(data.length).put(data);
        int pad = (8 - (data.length & 7)) & 7;
        b.put(new byte[pad]);
    }

    private static byte[] featureTable() {
        ByteBuffer t = ByteBuffer.allocate(FEATURE_NAMES.length * 48);
        for (int i = 0; i < FEATURE_NAMES.length; i++) {
            t.put(i * 48, (byte) (int) (Integer) FEATURE_NAMES[i][0]);
            t.put(i * 48 + 1, (byte) (int) (Integer) FEATURE_NAMES[i][1]);
            byte[] name = ((String) FEATURE_NAMES[i][2]).getBytes(StandardCharsets.US_ASCII);
            t.put(i * 48 + 2, name);
        }
        return t.array();
    }
}
