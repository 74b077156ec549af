/** QEMU's fw_cfg firmware configuration device (selector, data and DMA interfaces). */
package org.jqemu.hw.nvram;
