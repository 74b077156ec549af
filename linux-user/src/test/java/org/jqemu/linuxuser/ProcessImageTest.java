package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The names of file-backed regions follow munmap and MAP_FIXED as the kernel's VMAs do: split, trimmed, replaced. */
class ProcessImageTest {
    private final ProcessImage image = new ProcessImage(new PathResolver(null, "/p"));

    @Test
    void forgettingTheMiddleSplitsARegionAndKeepsOffsets() {
        image.name(0x1000, 0x5000, "/lib/a.so", 0x10000, -1);
        List<ProcessImage.Region> removed = image.forget(0x2000, 0x3000);
        assertEquals(List.of(new ProcessImage.Region(0x2000, 0x3000, "/lib/a.so", 0x11000, -1)), removed);
        assertEquals(new ProcessImage.Region(0x1000, 0x2000, "/lib/a.so", 0x10000, -1), image.regionAt(0x1fff));
        assertNull(image.regionAt(0x2000));
        assertEquals(new ProcessImage.Region(0x3000, 0x5000, "/lib/a.so", 0x12000, -1), image.regionAt(0x4000));
    }

    @Test
    void namingOverAnotherRegionReplacesTheOverlap() {
        image.name(0x1000, 0x4000, "/a", 0, -1);
        image.name(0x3000, 0x6000, "/b", 0, 5);
        assertEquals("/a", image.regionAt(0x2fff).path());
        assertEquals(new ProcessImage.Region(0x3000, 0x6000, "/b", 0, 5), image.regionAt(0x3000));
        assertEquals(2, image.regionsIn(0, 0x10000).size());
        assertEquals(List.of(new ProcessImage.Region(0x2000, 0x3000, "/a", 0x1000, -1),
                new ProcessImage.Region(0x3000, 0x3800, "/b", 0, 5)), image.regionsIn(0x2000, 0x3800));
    }

    @Test
    void cmdlineIsNulTerminatedArguments() {
        image.setCmdline(List.of("ls", "-l", ""));
        assertEquals("ls\0-l\0\0", new String(image.cmdline()));
    }

    @Test
    void sharedMappingsAreSharedWhetherOrNotTheyWriteBack() {
        assertEquals(false, new ProcessImage.Region(0, 0x1000, "/a", 0, ProcessImage.PRIVATE).shared());
        assertEquals(true, new ProcessImage.Region(0, 0x1000, "/a", 0, ProcessImage.SHARED_READ_ONLY).shared());
        assertEquals(true, new ProcessImage.Region(0, 0x1000, "/a", 0, 7).shared());
    }
}
