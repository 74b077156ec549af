package org.jqemu.accel.tcg;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Blocks keyed by EIP in an open-addressing table with int keys: no boxing, one multiplicative hash and
 * usually one probe. The interpreter asks it about every instruction it runs (cold-EIP counting), so a
 * {@code HashMap<Integer, Block>} cost as much there as interpreting the instruction. Linear probing, at
 * most half full, deletion by shifting the following entries back (no tombstones).
 */
final class BlockTable {
    private static final int MIN_CAPACITY = 1 << 10;
    /** Slots hold blocks; a block's key is its {@link Block#eip}. */
    private Block[] slots = new Block[MIN_CAPACITY];
    private int size;

    int size() { return size; }

    Block get(int eip) {
        Block[] s = slots;
        int mask = s.length - 1;
        for (int i = home(eip, mask); ; i = (i + 1) & mask) {
            Block b = s[i];
            if (b == null || b.eip == eip) {
                return b;
            }
        }
    }

    /** Puts {@code b} under its EIP, replacing any block there. */
    void put(Block b) {
        if (2 * (size + 1) > slots.length) {
            resize(slots.length * 2);
        }
        int mask = slots.length - 1;
        for (int i = home(b.eip, mask); ; i = (i + 1) & mask) {
            Block old = slots[i];
            if (old == null || old.eip == b.eip) {
                if (old == null) {
                    size++;
                }
                slots[i] = b;
                return;
            }
        }
    }

    /** Removes the entry for {@code eip} if it is {@code b} (any entry when {@code b} is null). */
    void remove(int eip, Block b) {
        int mask = slots.length - 1;
        int i = home(eip, mask);
        while (slots[i] != null && slots[i].eip != eip) {
            i = (i + 1) & mask;
        }
        if (slots[i] == null || (b != null && slots[i] != b)) {
            return;
        }
        slots[i] = null;
        size--;
        // Shift back the entries of the cluster after the hole that may no longer be reached.
        for (int j = (i + 1) & mask; slots[j] != null; j = (j + 1) & mask) {
            int h = home(slots[j].eip, mask);
            if (((j - h) & mask) >= ((j - i) & mask)) {
                slots[i] = slots[j];
                slots[j] = null;
                i = j;
            }
        }
    }

    void clear() {
        if (slots.length > MIN_CAPACITY) {
            slots = new Block[MIN_CAPACITY];
        } else {
            Arrays.fill(slots, null);
        }
        size = 0;
    }

    void forEach(Consumer<Block> action) {
        for (Block b : slots) {
            if (b != null) {
                action.accept(b);
            }
        }
    }

    private void resize(int capacity) {
        Block[] old = slots;
        slots = new Block[capacity];
        size = 0;
        for (Block b : old) {
            if (b != null) {
                put(b);
            }
        }
    }

    private static int home(int eip, int mask) {
        int h = eip * 0x9E37_79B9; // Fibonacci hashing: code addresses are clustered, the high bits mix them
        return (h ^ (h >>> 16)) & mask;
    }
}
