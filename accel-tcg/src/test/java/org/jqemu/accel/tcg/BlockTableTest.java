package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link BlockTable} against {@link HashMap} as the oracle: random puts, gets and removals, growth and clears. */
class BlockTableTest {
    private static Block block(int eip) { return new Block(eip, eip, 0, null, 0, 0, eip & 0xffff_ffffL, 0, 0); }

    @Test
    void randomOperationsAgreeWithAHashMap() {
        Random random = new Random(42);
        BlockTable table = new BlockTable();
        Map<Integer, Block> oracle = new HashMap<>();
        for (int op = 0; op < 200_000; op++) {
            // Clustered keys (code addresses) and a few far ones, so that probe chains form and wrap.
            int eip = random.nextInt(8) == 0 ? random.nextInt() : 0x8000_0000 + random.nextInt(4096);
            switch (random.nextInt(4)) {
                case 0, 1 -> {
                    Block b = block(eip);
                    table.put(b);
                    oracle.put(eip, b);
                }
                case 2 -> {
                    Block expected = random.nextBoolean() ? oracle.get(eip) : block(eip); // a stale block is not removed
                    table.remove(eip, expected);
                    oracle.remove(eip, expected);
                }
                default -> {
                    table.remove(eip, null);
                    oracle.remove(eip);
                }
            }
            if (op % 50_000 == 49_999) {
                table.clear();
                oracle.clear();
            }
            assertSame(oracle.get(eip), table.get(eip), "after operation " + op);
            assertEquals(oracle.size(), table.size(), "size after operation " + op);
        }
        for (int eip = 0x8000_0000; eip < 0x8000_0000 + 4096; eip++) {
            assertSame(oracle.get(eip), table.get(eip), "EIP " + Integer.toHexString(eip));
        }
        int[] visited = {0};
        table.forEach(b -> {
            assertSame(oracle.get(b.eip), b);
            visited[0]++;
        });
        assertEquals(oracle.size(), visited[0]);
    }
}
