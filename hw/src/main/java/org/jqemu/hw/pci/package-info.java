/**
 * PCI: bus 0, the configuration space helper, the i440FX host bridge with configuration mechanism #1, and
 * DMA access to guest memory for bus masters.
 */
package org.jqemu.hw.pci;
