package org.jqemu.hw.isa;

import java.util.List;
import org.jqemu.memory.IoPorts;

/**
 * A device with I/O port registers. The machine's port bus calls {@link #in}/{@link #out} with absolute
 * port numbers for every port inside one of {@link #portRanges()}, and only for those.
 */
public interface PortDevice extends IoPorts {
    List<PortRange> portRanges();
}
